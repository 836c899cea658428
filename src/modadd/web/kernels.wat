;; The live widget's training pass as WebAssembly with 128-bit SIMD (two float64 lanes).
;;
;; Readable source of the bytes in kernels_wasm.js (tools/assemble_wasm.mjs assembles this
;; file with the npm package wabt; tests/js/kernels.test.mjs checks that the shipped bytes
;; are exactly what wabt makes of this file). The plain-JavaScript fallback in trainer.js
;; computes the same maths (rounding aside); both are tested against the Python package.
;;
;; pass: one pass over a table of pairs (a, b, label y, weight w) at the current parameters.
;; For each pair: x = E_a + E_b; the active hidden units h = ReLU(b1 + x W1) (kept as a list);
;; logits = b2 + h W2 over the active rows only; the softmax with a vectorised exp; the
;; pair's loss terms go to `res`. With grad, also dlogits = w (softmax - onehot), the
;; gradients of b2, W1, b1 and E, and the gradient of W2 in blocks of 32 pairs: the block's
;; dlogits rows are kept, each hidden unit keeps the list of (pair, h) where it was active,
;; and gW2[j] += sum over that list of h dl, with eight classes of the sum in registers
;; (gW2 is read and written once per block, not once per pair).
;;
;; Memory layout (byte addresses, all given by the caller): float64 arrays E (n x 2),
;; W1 (2 x H), b1 (H), W2 (H x np) and b2 (np), with np = n rounded up to even and the
;; padding column of W2 and b2 zero; their gradients, added to (the caller zeroes them);
;; int32 pa, pb, py and float64 pw (P each); res (4 P float64: per pair the softmax's
;; sum s, the largest logit mx, the label's logit, and w when the argmax (first on ties)
;; is the label else 0; the loss is w (log s + mx - logit_y)); work: work_bytes(np, H).
(module
  (memory (import "env" "mem") 1)

  ;; Bytes of scratch that `pass` needs: lg (np), hv (H), LH (H x 32), DL (32 x np) float64;
  ;; act, rows, cnt (H each) and LI (H x 32) int32.
  (func (export "work_bytes") (param $np i32) (param $H i32) (result i32)
    (i32.add
      (i32.shl
        (i32.add (i32.add (local.get $np) (local.get $H))
                 (i32.mul (i32.const 32) (i32.add (local.get $H) (local.get $np))))
        (i32.const 3))
      (i32.shl (i32.mul (local.get $H) (i32.const 35)) (i32.const 2))))

  (func (export "pass")
    (param $n i32) (param $np i32) (param $H i32) (param $P i32) (param $grad i32)
    (param $E i32) (param $W1 i32) (param $b1 i32) (param $W2 i32) (param $b2 i32)
    (param $gE i32) (param $gW1 i32) (param $gb1 i32) (param $gW2 i32) (param $gb2 i32)
    (param $pa i32) (param $pb i32) (param $py i32) (param $pw i32) (param $res i32) (param $work i32)
    (local $rowb i32) (local $np8b i32) (local $npb i32)
    (local $lg i32) (local $hv i32) (local $LH i32) (local $DL i32) (local $act i32) (local $rows i32)
    (local $cnt i32) (local $LI i32)
    (local $i i32) (local $bend i32) (local $m i32) (local $a i32) (local $b i32) (local $y i32)
    (local $j i32) (local $na i32) (local $c i32) (local $k i32) (local $r i32) (local $cj i32)
    (local $dl i32) (local $arg i32) (local $q i32) (local $lh i32) (local $li i32) (local $g i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $x0 f64) (local $x1 f64) (local $z f64) (local $mx f64) (local $v f64) (local $w f64)
    (local $s f64) (local $dx0 f64) (local $dx1 f64) (local $zs f64)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $hs v128)
    (local $d v128) (local $t v128) (local $kf v128) (local $e v128) (local $vmx v128)

    (local.set $rowb (i32.shl (local.get $np) (i32.const 3)))
    (local.set $npb (local.get $rowb))
    (local.set $np8b (i32.shl (i32.and (local.get $np) (i32.const -8)) (i32.const 3)))
    (local.set $lg (local.get $work))
    (local.set $hv (i32.add (local.get $lg) (local.get $rowb)))
    (local.set $LH (i32.add (local.get $hv) (i32.shl (local.get $H) (i32.const 3))))
    (local.set $DL (i32.add (local.get $LH) (i32.shl (local.get $H) (i32.const 8))))
    (local.set $act (i32.add (local.get $DL) (i32.shl (local.get $rowb) (i32.const 5))))
    (local.set $rows (i32.add (local.get $act) (i32.shl (local.get $H) (i32.const 2))))
    (local.set $cnt (i32.add (local.get $rows) (i32.shl (local.get $H) (i32.const 2))))
    (local.set $LI (i32.add (local.get $cnt) (i32.shl (local.get $H) (i32.const 2))))

    (local.set $i (i32.const 0))
    (block $done (loop $blocks
      (br_if $done (i32.ge_s (local.get $i) (local.get $P)))
      (local.set $bend (i32.add (local.get $i) (i32.const 32)))
      (if (i32.gt_s (local.get $bend) (local.get $P)) (then (local.set $bend (local.get $P))))
      (memory.fill (local.get $cnt) (i32.const 0) (i32.shl (local.get $H) (i32.const 2)))
      (local.set $m (i32.const 0))

      (block $pairs_done (loop $pairs
        (br_if $pairs_done (i32.ge_s (local.get $i) (local.get $bend)))
        (local.set $a (i32.add (local.get $E)
          (i32.shl (i32.load (i32.add (local.get $pa) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 4))))
        (local.set $b (i32.add (local.get $E)
          (i32.shl (i32.load (i32.add (local.get $pb) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 4))))
        (local.set $y (i32.load (i32.add (local.get $py) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $w (f64.load (i32.add (local.get $pw) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $x0 (f64.add (f64.load (local.get $a)) (f64.load (local.get $b))))
        (local.set $x1 (f64.add (f64.load offset=8 (local.get $a)) (f64.load offset=8 (local.get $b))))

        ;; hidden layer: the active units (z > 0), their values, rows of W2; and, with grad,
        ;; each unit's list of (this pair's row of DL, h) for the block's gW2
        (local.set $na (i32.const 0))
        (local.set $j (i32.const 0))
        (block $h_done (loop $hidden
          (br_if $h_done (i32.ge_s (local.get $j) (local.get $H)))
          (local.set $r (i32.shl (local.get $j) (i32.const 3)))
          (local.set $z (f64.add (f64.load (i32.add (local.get $b1) (local.get $r)))
            (f64.add (f64.mul (local.get $x0) (f64.load (i32.add (local.get $W1) (local.get $r))))
                     (f64.mul (local.get $x1)
                              (f64.load (i32.add (i32.add (local.get $W1) (i32.shl (local.get $H) (i32.const 3)))
                                                 (local.get $r)))))))
          (if (f64.gt (local.get $z) (f64.const 0))
            (then
              (f64.store (i32.add (local.get $hv) (i32.shl (local.get $na) (i32.const 3))) (local.get $z))
              (i32.store (i32.add (local.get $act) (i32.shl (local.get $na) (i32.const 2))) (local.get $j))
              (i32.store (i32.add (local.get $rows) (i32.shl (local.get $na) (i32.const 2)))
                         (i32.add (local.get $W2) (i32.mul (local.get $j) (local.get $rowb))))
              (local.set $na (i32.add (local.get $na) (i32.const 1)))
              (if (local.get $grad)
                (then
                  (local.set $cj (i32.load (i32.add (local.get $cnt) (i32.shl (local.get $j) (i32.const 2)))))
                  (local.set $q (i32.add (i32.shl (local.get $j) (i32.const 5)) (local.get $cj)))
                  (i32.store (i32.add (local.get $LI) (i32.shl (local.get $q) (i32.const 2)))
                             (i32.mul (local.get $m) (local.get $rowb)))
                  (f64.store (i32.add (local.get $LH) (i32.shl (local.get $q) (i32.const 3))) (local.get $z))
                  (i32.store (i32.add (local.get $cnt) (i32.shl (local.get $j) (i32.const 2)))
                             (i32.add (local.get $cj) (i32.const 1)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $hidden)))

        ;; logits = b2 + h W2 over the active rows: eight classes at a time, then two
        (local.set $c (i32.const 0))
        (block $l8_done (loop $l8
          (br_if $l8_done (i32.ge_s (local.get $c) (local.get $np8b)))
          (local.set $acc0 (v128.const i64x2 0 0)) (local.set $acc1 (v128.const i64x2 0 0))
          (local.set $acc2 (v128.const i64x2 0 0)) (local.set $acc3 (v128.const i64x2 0 0))
          (local.set $k (i32.const 0))
          (block $k_done (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $na)))
            (local.set $hs (f64x2.splat (f64.load (i32.add (local.get $hv) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $r (i32.add (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2))))
                                   (local.get $c)))
            (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.mul (local.get $hs) (v128.load (local.get $r)))))
            (local.set $acc1 (f64x2.add (local.get $acc1) (f64x2.mul (local.get $hs) (v128.load offset=16 (local.get $r)))))
            (local.set $acc2 (f64x2.add (local.get $acc2) (f64x2.mul (local.get $hs) (v128.load offset=32 (local.get $r)))))
            (local.set $acc3 (f64x2.add (local.get $acc3) (f64x2.mul (local.get $hs) (v128.load offset=48 (local.get $r)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
          (local.set $r (i32.add (local.get $b2) (local.get $c)))
          (local.set $q (i32.add (local.get $lg) (local.get $c)))
          (v128.store (local.get $q) (f64x2.add (v128.load (local.get $r)) (local.get $acc0)))
          (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $r)) (local.get $acc1)))
          (v128.store offset=32 (local.get $q) (f64x2.add (v128.load offset=32 (local.get $r)) (local.get $acc2)))
          (v128.store offset=48 (local.get $q) (f64x2.add (v128.load offset=48 (local.get $r)) (local.get $acc3)))
          (local.set $c (i32.add (local.get $c) (i32.const 64)))
          (br $l8)))
        (block $l2_done (loop $l2
          (br_if $l2_done (i32.ge_s (local.get $c) (local.get $npb)))
          (local.set $acc0 (v128.const i64x2 0 0))
          (local.set $k (i32.const 0))
          (block $k_done (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $na)))
            (local.set $hs (f64x2.splat (f64.load (i32.add (local.get $hv) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $r (i32.add (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2))))
                                   (local.get $c)))
            (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.mul (local.get $hs) (v128.load (local.get $r)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
          (v128.store (i32.add (local.get $lg) (local.get $c))
                      (f64x2.add (v128.load (i32.add (local.get $b2) (local.get $c))) (local.get $acc0)))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $l2)))

        ;; the largest logit and its class (the first on ties), over the n real classes
        (local.set $mx (f64.load (local.get $lg)))
        (local.set $arg (i32.const 0))
        (local.set $c (i32.const 1))
        (block $mx_done (loop $mxl
          (br_if $mx_done (i32.ge_s (local.get $c) (local.get $n)))
          (local.set $v (f64.load (i32.add (local.get $lg) (i32.shl (local.get $c) (i32.const 3)))))
          (if (f64.gt (local.get $v) (local.get $mx))
            (then (local.set $mx (local.get $v)) (local.set $arg (local.get $c))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $mxl)))

        ;; e = exp(logit - mx) into this pair's row of DL. exp(x) for x <= 0 (clamped to
        ;; [-708, 0]; NaN stays NaN): x = k ln2 + r with k = round(x / ln2), |r| <= ln2 / 2
        ;; (ln2 in two parts, so k ln2_hi is exact); exp(r) by its Taylor series to r^12
        ;; (truncation below 2e-16 relative); 2^k put into the exponent bits through the
        ;; integer in the low bits of x / ln2 + 1.5 * 2^52.
        (local.set $dl (i32.add (local.get $DL) (i32.mul (local.get $m) (local.get $rowb))))
        (local.set $vmx (f64x2.splat (local.get $mx)))
        (local.set $acc0 (v128.const i64x2 0 0))
        (local.set $c (i32.const 0))
        (block $e_done (loop $el
          (br_if $e_done (i32.ge_s (local.get $c) (local.get $npb)))
          (local.set $d (f64x2.min (v128.const f64x2 0 0)
            (f64x2.max (v128.const f64x2 -708 -708)
              (f64x2.sub (v128.load (i32.add (local.get $lg) (local.get $c))) (local.get $vmx)))))
          (local.set $t (f64x2.add (f64x2.mul (local.get $d) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
                                   (v128.const f64x2 6755399441055744 6755399441055744)))
          (local.set $kf (f64x2.sub (local.get $t) (v128.const f64x2 6755399441055744 6755399441055744)))
          (local.set $d (f64x2.sub
            (f64x2.sub (local.get $d) (f64x2.mul (local.get $kf) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
            (f64x2.mul (local.get $kf) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
          (local.set $e (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 1.984126984126984e-4 1.984126984126984e-4)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 1.388888888888889e-3 1.388888888888889e-3)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 8.333333333333333e-3 8.333333333333333e-3)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 4.1666666666666664e-2 4.1666666666666664e-2)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 0.16666666666666666 0.16666666666666666)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 0.5 0.5)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 1 1)))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $d)) (v128.const f64x2 1 1)))
          (local.set $e (f64x2.mul (local.get $e)
            (i64x2.shl (i64x2.add (local.get $t) (v128.const i64x2 1023 1023)) (i32.const 52))))
          (v128.store (i32.add (local.get $dl) (local.get $c)) (local.get $e))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $el)))
        (if (i32.ne (local.get $n) (local.get $np))
          (then (f64.store (i32.add (local.get $dl) (i32.shl (local.get $n) (i32.const 3))) (f64.const 0))))
        (local.set $c (i32.const 0))
        (block $s_done (loop $sl
          (br_if $s_done (i32.ge_s (local.get $c) (local.get $npb)))
          (local.set $acc0 (f64x2.add (local.get $acc0) (v128.load (i32.add (local.get $dl) (local.get $c)))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $sl)))
        (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0))))

        (local.set $q (i32.add (local.get $res) (i32.shl (local.get $i) (i32.const 5))))
        (f64.store (local.get $q) (local.get $s))
        (f64.store offset=8 (local.get $q) (local.get $mx))
        (f64.store offset=16 (local.get $q) (f64.load (i32.add (local.get $lg) (i32.shl (local.get $y) (i32.const 3)))))
        (f64.store offset=24 (local.get $q)
          (select (local.get $w) (f64.const 0) (i32.eq (local.get $arg) (local.get $y))))

        (if (local.get $grad)
          (then
            ;; dlogits = w (softmax - onehot); gb2 += dlogits
            (local.set $hs (f64x2.splat (f64.div (local.get $w) (local.get $s))))
            (local.set $c (i32.const 0))
            (block $dl_done (loop $dll
              (br_if $dl_done (i32.ge_s (local.get $c) (local.get $npb)))
              (local.set $r (i32.add (local.get $dl) (local.get $c)))
              (v128.store (local.get $r) (f64x2.mul (v128.load (local.get $r)) (local.get $hs)))
              (local.set $c (i32.add (local.get $c) (i32.const 16)))
              (br $dll)))
            (local.set $r (i32.add (local.get $dl) (i32.shl (local.get $y) (i32.const 3))))
            (f64.store (local.get $r) (f64.sub (f64.load (local.get $r)) (local.get $w)))
            (local.set $c (i32.const 0))
            (block $b2_done (loop $b2l
              (br_if $b2_done (i32.ge_s (local.get $c) (local.get $npb)))
              (local.set $r (i32.add (local.get $gb2) (local.get $c)))
              (v128.store (local.get $r)
                (f64x2.add (v128.load (local.get $r)) (v128.load (i32.add (local.get $dl) (local.get $c)))))
              (local.set $c (i32.add (local.get $c) (i32.const 16)))
              (br $b2l)))

            ;; dz_k = dlogits . W2[row_k] for the active units, four at a time then one;
            ;; then the gradients of W1 and b1 and dL/dx
            ;; (dL/dx is summed at work[0..1], where the logits no longer needed lay)
            (f64.store (local.get $work) (f64.const 0))
            (f64.store offset=8 (local.get $work) (f64.const 0))
            (local.set $k (i32.const 0))
            (block $z4_done (loop $z4
              (br_if $z4_done (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $na)))
              (local.set $q (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2))))
              (local.set $r0 (i32.load (local.get $q)))
              (local.set $r1 (i32.load offset=4 (local.get $q)))
              (local.set $r2 (i32.load offset=8 (local.get $q)))
              (local.set $r3 (i32.load offset=12 (local.get $q)))
              (local.set $acc0 (v128.const i64x2 0 0)) (local.set $acc1 (v128.const i64x2 0 0))
              (local.set $acc2 (v128.const i64x2 0 0)) (local.set $acc3 (v128.const i64x2 0 0))
              (local.set $c (i32.const 0))
              (block $c_done (loop $cl
                (br_if $c_done (i32.ge_s (local.get $c) (local.get $npb)))
                (local.set $d (v128.load (i32.add (local.get $dl) (local.get $c))))
                (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.mul (local.get $d) (v128.load (i32.add (local.get $r0) (local.get $c))))))
                (local.set $acc1 (f64x2.add (local.get $acc1) (f64x2.mul (local.get $d) (v128.load (i32.add (local.get $r1) (local.get $c))))))
                (local.set $acc2 (f64x2.add (local.get $acc2) (f64x2.mul (local.get $d) (v128.load (i32.add (local.get $r2) (local.get $c))))))
                (local.set $acc3 (f64x2.add (local.get $acc3) (f64x2.mul (local.get $d) (v128.load (i32.add (local.get $r3) (local.get $c))))))
                (local.set $c (i32.add (local.get $c) (i32.const 16)))
                (br $cl)))
              (call $unit (i32.load (i32.add (local.get $act) (i32.shl (local.get $k) (i32.const 2)))) (local.get $acc0)
                          (local.get $x0) (local.get $x1) (local.get $H) (local.get $W1) (local.get $gW1) (local.get $gb1) (local.get $work))
              (call $unit (i32.load offset=4 (i32.add (local.get $act) (i32.shl (local.get $k) (i32.const 2)))) (local.get $acc1)
                          (local.get $x0) (local.get $x1) (local.get $H) (local.get $W1) (local.get $gW1) (local.get $gb1) (local.get $work))
              (call $unit (i32.load offset=8 (i32.add (local.get $act) (i32.shl (local.get $k) (i32.const 2)))) (local.get $acc2)
                          (local.get $x0) (local.get $x1) (local.get $H) (local.get $W1) (local.get $gW1) (local.get $gb1) (local.get $work))
              (call $unit (i32.load offset=12 (i32.add (local.get $act) (i32.shl (local.get $k) (i32.const 2)))) (local.get $acc3)
                          (local.get $x0) (local.get $x1) (local.get $H) (local.get $W1) (local.get $gW1) (local.get $gb1) (local.get $work))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br $z4)))
            (block $z1_done (loop $z1
              (br_if $z1_done (i32.ge_s (local.get $k) (local.get $na)))
              (local.set $r0 (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
              (local.set $acc0 (v128.const i64x2 0 0))
              (local.set $c (i32.const 0))
              (block $c_done (loop $cl
                (br_if $c_done (i32.ge_s (local.get $c) (local.get $npb)))
                (local.set $acc0 (f64x2.add (local.get $acc0)
                  (f64x2.mul (v128.load (i32.add (local.get $dl) (local.get $c))) (v128.load (i32.add (local.get $r0) (local.get $c))))))
                (local.set $c (i32.add (local.get $c) (i32.const 16)))
                (br $cl)))
              (call $unit (i32.load (i32.add (local.get $act) (i32.shl (local.get $k) (i32.const 2)))) (local.get $acc0)
                          (local.get $x0) (local.get $x1) (local.get $H) (local.get $W1) (local.get $gW1) (local.get $gb1) (local.get $work))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $z1)))
            ;; dL/dx (summed by $unit at work[0..1]) onto both embeddings
            (local.set $dx0 (f64.load (local.get $work)))
            (local.set $dx1 (f64.load offset=8 (local.get $work)))
            (local.set $r (i32.add (local.get $gE) (i32.sub (local.get $a) (local.get $E))))
            (f64.store (local.get $r) (f64.add (f64.load (local.get $r)) (local.get $dx0)))
            (f64.store offset=8 (local.get $r) (f64.add (f64.load offset=8 (local.get $r)) (local.get $dx1)))
            (local.set $r (i32.add (local.get $gE) (i32.sub (local.get $b) (local.get $E))))
            (f64.store (local.get $r) (f64.add (f64.load (local.get $r)) (local.get $dx0)))
            (f64.store offset=8 (local.get $r) (f64.add (f64.load offset=8 (local.get $r)) (local.get $dx1)))))

        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pairs)))

      ;; the block's gradient of W2: gW2[j] += sum over unit j's list of h DL[row], eight
      ;; classes in registers, then two
      (if (local.get $grad)
        (then
          (local.set $j (i32.const 0))
          (block $u_done (loop $units
            (br_if $u_done (i32.ge_s (local.get $j) (local.get $H)))
            (local.set $cj (i32.load (i32.add (local.get $cnt) (i32.shl (local.get $j) (i32.const 2)))))
            (if (local.get $cj)
              (then
                (local.set $g (i32.add (local.get $gW2) (i32.mul (local.get $j) (local.get $rowb))))
                (local.set $lh (i32.add (local.get $LH) (i32.shl (local.get $j) (i32.const 8))))
                (local.set $li (i32.add (local.get $LI) (i32.shl (local.get $j) (i32.const 7))))
                (local.set $c (i32.const 0))
                (block $g8_done (loop $g8
                  (br_if $g8_done (i32.ge_s (local.get $c) (local.get $np8b)))
                  (local.set $acc0 (v128.const i64x2 0 0)) (local.set $acc1 (v128.const i64x2 0 0))
                  (local.set $acc2 (v128.const i64x2 0 0)) (local.set $acc3 (v128.const i64x2 0 0))
                  (local.set $k (i32.const 0))
                  (block $k_done (loop $ks
                    (br_if $k_done (i32.ge_s (local.get $k) (local.get $cj)))
                    (local.set $hs (f64x2.splat (f64.load (i32.add (local.get $lh) (i32.shl (local.get $k) (i32.const 3))))))
                    (local.set $r (i32.add (i32.add (local.get $DL) (local.get $c))
                                           (i32.load (i32.add (local.get $li) (i32.shl (local.get $k) (i32.const 2))))))
                    (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.mul (local.get $hs) (v128.load (local.get $r)))))
                    (local.set $acc1 (f64x2.add (local.get $acc1) (f64x2.mul (local.get $hs) (v128.load offset=16 (local.get $r)))))
                    (local.set $acc2 (f64x2.add (local.get $acc2) (f64x2.mul (local.get $hs) (v128.load offset=32 (local.get $r)))))
                    (local.set $acc3 (f64x2.add (local.get $acc3) (f64x2.mul (local.get $hs) (v128.load offset=48 (local.get $r)))))
                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (br $ks)))
                  (local.set $r (i32.add (local.get $g) (local.get $c)))
                  (v128.store (local.get $r) (f64x2.add (v128.load (local.get $r)) (local.get $acc0)))
                  (v128.store offset=16 (local.get $r) (f64x2.add (v128.load offset=16 (local.get $r)) (local.get $acc1)))
                  (v128.store offset=32 (local.get $r) (f64x2.add (v128.load offset=32 (local.get $r)) (local.get $acc2)))
                  (v128.store offset=48 (local.get $r) (f64x2.add (v128.load offset=48 (local.get $r)) (local.get $acc3)))
                  (local.set $c (i32.add (local.get $c) (i32.const 64)))
                  (br $g8)))
                (block $g2_done (loop $g2
                  (br_if $g2_done (i32.ge_s (local.get $c) (local.get $npb)))
                  (local.set $acc0 (v128.const i64x2 0 0))
                  (local.set $k (i32.const 0))
                  (block $k_done (loop $ks
                    (br_if $k_done (i32.ge_s (local.get $k) (local.get $cj)))
                    (local.set $r (i32.add (i32.add (local.get $DL) (local.get $c))
                                           (i32.load (i32.add (local.get $li) (i32.shl (local.get $k) (i32.const 2))))))
                    (local.set $acc0 (f64x2.add (local.get $acc0)
                      (f64x2.mul (f64x2.splat (f64.load (i32.add (local.get $lh) (i32.shl (local.get $k) (i32.const 3)))))
                                 (v128.load (local.get $r)))))
                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (br $ks)))
                  (local.set $r (i32.add (local.get $g) (local.get $c)))
                  (v128.store (local.get $r) (f64x2.add (v128.load (local.get $r)) (local.get $acc0)))
                  (local.set $c (i32.add (local.get $c) (i32.const 16)))
                  (br $g2)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $units)))))
      (br $blocks))))

  ;; One active unit j with dz = the two lanes of zv summed: gW1[:, j] += x dz, gb1[j] += dz,
  ;; and dL/dx += dz W1[:, j], summed at acc[0..1].
  (func $unit (param $j i32) (param $zv v128) (param $x0 f64) (param $x1 f64) (param $H i32)
              (param $W1 i32) (param $gW1 i32) (param $gb1 i32) (param $acc i32)
    (local $z f64) (local $o i32) (local $o2 i32)
    (local.set $z (f64.add (f64x2.extract_lane 0 (local.get $zv)) (f64x2.extract_lane 1 (local.get $zv))))
    (local.set $o (i32.shl (local.get $j) (i32.const 3)))
    (local.set $o2 (i32.add (local.get $o) (i32.shl (local.get $H) (i32.const 3))))
    (f64.store (i32.add (local.get $gW1) (local.get $o))
               (f64.add (f64.load (i32.add (local.get $gW1) (local.get $o))) (f64.mul (local.get $x0) (local.get $z))))
    (f64.store (i32.add (local.get $gW1) (local.get $o2))
               (f64.add (f64.load (i32.add (local.get $gW1) (local.get $o2))) (f64.mul (local.get $x1) (local.get $z))))
    (f64.store (i32.add (local.get $gb1) (local.get $o))
               (f64.add (f64.load (i32.add (local.get $gb1) (local.get $o))) (local.get $z)))
    (f64.store (local.get $acc)
               (f64.add (f64.load (local.get $acc)) (f64.mul (local.get $z) (f64.load (i32.add (local.get $W1) (local.get $o))))))
    (f64.store offset=8 (local.get $acc)
               (f64.add (f64.load offset=8 (local.get $acc)) (f64.mul (local.get $z) (f64.load (i32.add (local.get $W1) (local.get $o2))))))))
