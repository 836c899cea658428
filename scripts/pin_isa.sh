# Sourced by book.sh and test.sh: every numerical library computes with the same instruction
# set (AVX2) on every x86 machine, so a seeded run gives the same bits on a machine with
# AVX-512 as on one without (vector width changes the order of a sum, and with it the last
# bits, and a chapter's glued counts; an Intel and an AMD processor still differ in the last
# bits: the book's introduction, Reproducibility). modadd sets the first three itself when it is imported
# (modadd.PINNED_ISA); numpy reads its own at import, before modadd, so only a shell sets it.
export ATEN_CPU_CAPABILITY=avx2          # PyTorch's vectorised kernels
export MKL_CBWR=AVX2                     # MKL's matrix products (conditional numerical reproducibility)
export ONEDNN_MAX_CPU_ISA=AVX2           # oneDNN
export NPY_DISABLE_CPU_FEATURES="AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"
export OPENBLAS_CORETYPE=Haswell         # numpy's OpenBLAS
