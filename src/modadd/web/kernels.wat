;; The live widget's training pass and the particles' repulsion as WebAssembly with 128-bit
;; SIMD: the exports pass (with work_bytes) and repel (at the end).
;;
;; Readable source of the bytes in kernels_wasm.js (tools/assemble_wasm.mjs assembles this
;; file with the npm package wabt; tests/js/kernels.test.mjs checks that the shipped bytes
;; are exactly what wabt makes of this file). The plain-JavaScript fallback in trainer.js
;; computes the same maths in float64 throughout, and so does particles.js's for repel; the
;; fallback is tested against the Python package, and this pass against the fallback
;; within bounds on float32 rounding (tests/js/core.test.mjs). kernels.js compiles the
;; module once for both.
;;
;; pass: one pass over a table of pairs (a, b, label y, weight w) at the current parameters.
;; For each pair: x = E_a + E_b; the active hidden units h = ReLU(b1 + x W1) (kept as a list);
;; logits = b2 + h W2 over the active rows only; the softmax with a vectorised exp; the
;; pair's loss terms go to `res`. With grad, also dlogits = w (softmax - onehot), the
;; gradients of b2, W1, b1 and E, and the gradient of W2 in blocks of 32 pairs: the block's
;; rows of (softmax - onehot) are kept, each hidden unit keeps the list of (pair, w h) where
;; it was active, and gW2[j] += sum over that list of w h (softmax - onehot), with 32
;; classes of the sum in registers (gW2 is read and written once per block, not once per pair).
;;
;; Precision. The output layer's three products, which are nearly all of the arithmetic (the
;; logits h W2, dz = W2 dlogits and the block sums of gW2), run in float32 with four lanes
;; (f32x4): W2 comes as a float32 copy, h, w h and (softmax - onehot) are rounded to float32,
;; and each float32 sum is short: a logit sums the active units (at most H), a lane of dz
;; np / 4 classes, a block of gW2 at most 32 pairs. Everything else is float64: the hidden
;; layer, the logits once summed (b2 is added in float64), the softmax, exp, the loss terms,
;; gb2, the gradients of W1, b1 and E, and the sums over the blocks of gW2 (thousands of
;; pairs). Probabilities below 2^-60 go to float32 as 0 (no subnormal float32: they weigh less
;; than 2^-60 beside the label's term).
;;
;; Memory layout (byte addresses, all given by the caller): float64 arrays E (n x 2),
;; W1 (2 x H), b1 (H) and b2 (np), float32 W2 (H x np), with np = n rounded up to a multiple of
;; 4 and the padding columns of W2 and b2 zero; the float64 gradients of E, W1, b1, W2
;; (H x np) and b2, added to (the caller zeroes them); int32 pa, pb, py and float64 pw
;; (P each); res (4 P float64: per pair the softmax's sum s, the largest logit mx, the label's
;; logit, and w when the argmax (first on ties) is the label else 0; the loss is
;; w (log s + mx - logit_y)); work: work_bytes(np, H), 16-byte aligned.
(module
  (memory (import "env" "mem") 1)

  ;; Bytes of scratch that `pass` needs: lg, ex (np each) and zv (H) float64; DL (32 x np),
  ;; hv (H) and LH (H x 32) float32; act, rows, cnt (H each) and LI (H x 32) int32.
  (func (export "work_bytes") (param $np i32) (param $H i32) (result i32)
    (i32.add (i32.mul (local.get $np) (i32.const 144)) (i32.mul (local.get $H) (i32.const 280))))

  (func (export "pass")
    (param $n i32) (param $np i32) (param $H i32) (param $P i32) (param $grad i32)
    (param $E i32) (param $W1 i32) (param $b1 i32) (param $W2 i32) (param $b2 i32)
    (param $gE i32) (param $gW1 i32) (param $gb1 i32) (param $gW2 i32) (param $gb2 i32)
    (param $pa i32) (param $pb i32) (param $py i32) (param $pw i32) (param $res i32) (param $work i32)
    (local $npb i32) (local $rowd i32)
    (local $lg i32) (local $ex i32) (local $DL i32) (local $zv i32) (local $hv i32) (local $LH i32)
    (local $act i32) (local $rows i32) (local $cnt i32) (local $LI i32)
    (local $i i32) (local $bend i32) (local $m i32) (local $a i32) (local $b i32) (local $y i32)
    (local $j i32) (local $na i32) (local $c i32) (local $k i32) (local $r i32) (local $cj i32)
    (local $dl i32) (local $arg i32) (local $q i32) (local $lh i32) (local $li i32) (local $g i32)
    (local $on i32) (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $x0 f64) (local $x1 f64) (local $z f64) (local $mx f64) (local $v f64) (local $w f64)
    (local $s f64) (local $dx0 f64) (local $dx1 f64) (local $zs f64)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $acc4 v128) (local $acc5 v128) (local $acc6 v128) (local $acc7 v128) (local $hs v128)
    (local $d v128) (local $t v128) (local $kf v128) (local $e v128) (local $vmx v128)
    (local $d2 v128) (local $t2 v128) (local $kf2 v128) (local $e2 v128)
    (local $dd v128) (local $dq v128) (local $dd2 v128) (local $dq2 v128)

    ;; npb: bytes of a float32 row of np classes (W2, DL; the class loops of the float32
    ;; products count in these bytes); rowd: of a float64 row (lg, ex, b2, gW2, gb2)
    (local.set $npb (i32.shl (local.get $np) (i32.const 2)))
    (local.set $rowd (i32.shl (local.get $np) (i32.const 3)))
    (local.set $lg (local.get $work))
    (local.set $ex (i32.add (local.get $lg) (local.get $rowd)))
    (local.set $DL (i32.add (local.get $ex) (local.get $rowd)))
    (local.set $zv (i32.add (local.get $DL) (i32.shl (local.get $npb) (i32.const 5))))
    (local.set $hv (i32.add (local.get $zv) (i32.shl (local.get $H) (i32.const 3))))
    (local.set $LH (i32.add (local.get $hv) (i32.shl (local.get $H) (i32.const 2))))
    (local.set $act (i32.add (local.get $LH) (i32.shl (local.get $H) (i32.const 7))))
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

        ;; hidden layer (float64): the active units (z > 0), their values as float32, rows of
        ;; W2; and, with grad, each unit's list of (this pair's row of DL, w h as float32) for
        ;; the block's gW2
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
          ;; written whether active or not (no branch to mispredict); kept when active
          (local.set $on (f64.gt (local.get $z) (f64.const 0)))
          (f32.store (i32.add (local.get $hv) (i32.shl (local.get $na) (i32.const 2))) (f32.demote_f64 (local.get $z)))
          (i32.store (i32.add (local.get $act) (i32.shl (local.get $na) (i32.const 2))) (local.get $j))
          (i32.store (i32.add (local.get $rows) (i32.shl (local.get $na) (i32.const 2)))
                     (i32.add (local.get $W2) (i32.mul (local.get $j) (local.get $npb))))
          (local.set $na (i32.add (local.get $na) (local.get $on)))
          (if (local.get $grad)
            (then
              (local.set $cj (i32.load (i32.add (local.get $cnt) (i32.shl (local.get $j) (i32.const 2)))))
              (local.set $q (i32.shl (i32.add (i32.shl (local.get $j) (i32.const 5)) (local.get $cj)) (i32.const 2)))
              (i32.store (i32.add (local.get $LI) (local.get $q)) (i32.mul (local.get $m) (local.get $npb)))
              (f32.store (i32.add (local.get $LH) (local.get $q)) (f32.demote_f64 (f64.mul (local.get $w) (local.get $z))))
              (i32.store (i32.add (local.get $cnt) (i32.shl (local.get $j) (i32.const 2)))
                         (i32.add (local.get $cj) (local.get $on)))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $hidden)))

        ;; logits = b2 + h W2 over the active rows: float32 sums (f32x4) of 32 classes at a
        ;; time, then 16, then 4 (c counts bytes of float32 classes); each written to lg as
        ;; float64 (its two halves promoted; the high half moved down by the shuffle) plus b2
        (local.set $c (i32.const 0))
        (block $l32_done (loop $l32
          (br_if $l32_done (i32.gt_s (i32.add (local.get $c) (i32.const 128)) (local.get $npb)))
          (local.set $acc0 (v128.const i64x2 0 0)) (local.set $acc1 (v128.const i64x2 0 0)) (local.set $acc2 (v128.const i64x2 0 0)) (local.set $acc3 (v128.const i64x2 0 0)) (local.set $acc4 (v128.const i64x2 0 0)) (local.set $acc5 (v128.const i64x2 0 0)) (local.set $acc6 (v128.const i64x2 0 0)) (local.set $acc7 (v128.const i64x2 0 0))
          (local.set $k (i32.const 0))
          (block $k_done (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $na)))
            (local.set $hs (v128.load32_splat (i32.add (local.get $hv) (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $r (i32.add (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))) (local.get $c)))
            (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $hs) (v128.load (local.get $r)))))
            (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $hs) (v128.load offset=16 (local.get $r)))))
            (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $hs) (v128.load offset=32 (local.get $r)))))
            (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $hs) (v128.load offset=48 (local.get $r)))))
            (local.set $acc4 (f32x4.add (local.get $acc4) (f32x4.mul (local.get $hs) (v128.load offset=64 (local.get $r)))))
            (local.set $acc5 (f32x4.add (local.get $acc5) (f32x4.mul (local.get $hs) (v128.load offset=80 (local.get $r)))))
            (local.set $acc6 (f32x4.add (local.get $acc6) (f32x4.mul (local.get $hs) (v128.load offset=96 (local.get $r)))))
            (local.set $acc7 (f32x4.add (local.get $acc7) (f32x4.mul (local.get $hs) (v128.load offset=112 (local.get $r)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
          (local.set $q (i32.add (local.get $lg) (i32.shl (local.get $c) (i32.const 1))))
          (local.set $r (i32.add (local.get $b2) (i32.shl (local.get $c) (i32.const 1))))
          (v128.store (local.get $q) (f64x2.add (v128.load (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc0))))
          (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc0) (local.get $acc0)))))
          (v128.store offset=32 (local.get $q) (f64x2.add (v128.load offset=32 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc1))))
          (v128.store offset=48 (local.get $q) (f64x2.add (v128.load offset=48 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc1) (local.get $acc1)))))
          (v128.store offset=64 (local.get $q) (f64x2.add (v128.load offset=64 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc2))))
          (v128.store offset=80 (local.get $q) (f64x2.add (v128.load offset=80 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc2) (local.get $acc2)))))
          (v128.store offset=96 (local.get $q) (f64x2.add (v128.load offset=96 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc3))))
          (v128.store offset=112 (local.get $q) (f64x2.add (v128.load offset=112 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc3) (local.get $acc3)))))
          (v128.store offset=128 (local.get $q) (f64x2.add (v128.load offset=128 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc4))))
          (v128.store offset=144 (local.get $q) (f64x2.add (v128.load offset=144 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc4) (local.get $acc4)))))
          (v128.store offset=160 (local.get $q) (f64x2.add (v128.load offset=160 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc5))))
          (v128.store offset=176 (local.get $q) (f64x2.add (v128.load offset=176 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc5) (local.get $acc5)))))
          (v128.store offset=192 (local.get $q) (f64x2.add (v128.load offset=192 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc6))))
          (v128.store offset=208 (local.get $q) (f64x2.add (v128.load offset=208 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc6) (local.get $acc6)))))
          (v128.store offset=224 (local.get $q) (f64x2.add (v128.load offset=224 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc7))))
          (v128.store offset=240 (local.get $q) (f64x2.add (v128.load offset=240 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc7) (local.get $acc7)))))
          (local.set $c (i32.add (local.get $c) (i32.const 128)))
          (br $l32)))
        (block $l16_done (loop $l16
          (br_if $l16_done (i32.gt_s (i32.add (local.get $c) (i32.const 64)) (local.get $npb)))
          (local.set $acc0 (v128.const i64x2 0 0)) (local.set $acc1 (v128.const i64x2 0 0)) (local.set $acc2 (v128.const i64x2 0 0)) (local.set $acc3 (v128.const i64x2 0 0))
          (local.set $k (i32.const 0))
          (block $k_done (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $na)))
            (local.set $hs (v128.load32_splat (i32.add (local.get $hv) (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $r (i32.add (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))) (local.get $c)))
            (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $hs) (v128.load (local.get $r)))))
            (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $hs) (v128.load offset=16 (local.get $r)))))
            (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $hs) (v128.load offset=32 (local.get $r)))))
            (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $hs) (v128.load offset=48 (local.get $r)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
          (local.set $q (i32.add (local.get $lg) (i32.shl (local.get $c) (i32.const 1))))
          (local.set $r (i32.add (local.get $b2) (i32.shl (local.get $c) (i32.const 1))))
          (v128.store (local.get $q) (f64x2.add (v128.load (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc0))))
          (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc0) (local.get $acc0)))))
          (v128.store offset=32 (local.get $q) (f64x2.add (v128.load offset=32 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc1))))
          (v128.store offset=48 (local.get $q) (f64x2.add (v128.load offset=48 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc1) (local.get $acc1)))))
          (v128.store offset=64 (local.get $q) (f64x2.add (v128.load offset=64 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc2))))
          (v128.store offset=80 (local.get $q) (f64x2.add (v128.load offset=80 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc2) (local.get $acc2)))))
          (v128.store offset=96 (local.get $q) (f64x2.add (v128.load offset=96 (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc3))))
          (v128.store offset=112 (local.get $q) (f64x2.add (v128.load offset=112 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc3) (local.get $acc3)))))
          (local.set $c (i32.add (local.get $c) (i32.const 64)))
          (br $l16)))
        (block $l4_done (loop $l4
          (br_if $l4_done (i32.gt_s (i32.add (local.get $c) (i32.const 16)) (local.get $npb)))
          (local.set $acc0 (v128.const i64x2 0 0))
          (local.set $k (i32.const 0))
          (block $k_done (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $na)))
            (local.set $hs (v128.load32_splat (i32.add (local.get $hv) (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $r (i32.add (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))) (local.get $c)))
            (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $hs) (v128.load (local.get $r)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
          (local.set $q (i32.add (local.get $lg) (i32.shl (local.get $c) (i32.const 1))))
          (local.set $r (i32.add (local.get $b2) (i32.shl (local.get $c) (i32.const 1))))
          (v128.store (local.get $q) (f64x2.add (v128.load (local.get $r)) (f64x2.promote_low_f32x4 (local.get $acc0))))
          (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $r)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc0) (local.get $acc0)))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $l4)))

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

        ;; e = exp(logit - mx) into ex (float64). exp(x) for x <= 0 (clamped to
        ;; [-708, 0] by pmax and pmin, NaN kept; pmin, not min, as in repel): x = k ln2 + r with k = round(x / ln2), |r| <= ln2 / 2
        ;; (ln2 in two parts, so k ln2_hi is exact); exp(r) by its Taylor series to r^12
        ;; (truncation below 2e-16 relative), evaluated by Estrin's scheme (as in repel below:
        ;; with r^2 and r^4, a shorter chain of dependent steps than Horner's); 2^k put into
        ;; the exponent bits through the integer in the low bits of x / ln2 + 1.5 * 2^52.
        (local.set $vmx (f64x2.splat (local.get $mx)))
        (local.set $acc0 (v128.const i64x2 0 0))
        (local.set $c (i32.const 0))
        (block $e_done (loop $el
          (br_if $e_done (i32.ge_s (local.get $c) (local.get $rowd)))
          (local.set $d (f64x2.pmin (f64x2.pmax
            (f64x2.sub (v128.load (i32.add (local.get $lg) (local.get $c))) (local.get $vmx))
            (v128.const f64x2 -708 -708)) (v128.const f64x2 0 0)))
          (local.set $t (f64x2.add (f64x2.mul (local.get $d) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
                                   (v128.const f64x2 6755399441055744 6755399441055744)))
          (local.set $kf (f64x2.sub (local.get $t) (v128.const f64x2 6755399441055744 6755399441055744)))
          (local.set $d (f64x2.sub
            (f64x2.sub (local.get $d) (f64x2.mul (local.get $kf) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
            (f64x2.mul (local.get $kf) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
          (local.set $dd (f64x2.mul (local.get $d) (local.get $d)))
          (local.set $dq (f64x2.mul (local.get $dd) (local.get $dd)))
          (local.set $e (f64x2.add (f64x2.add (f64x2.add (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5) (f64x2.mul (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6) (local.get $d)))
                                               (f64x2.mul (local.get $dd) (f64x2.add (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7) (f64x2.mul (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8) (local.get $d)))))
                                   (f64x2.mul (local.get $dq) (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9))))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $dq))
            (f64x2.add (f64x2.add (v128.const f64x2 4.1666666666666664e-2 4.1666666666666664e-2) (f64x2.mul (v128.const f64x2 8.333333333333333e-3 8.333333333333333e-3) (local.get $d)))
                       (f64x2.mul (local.get $dd) (f64x2.add (v128.const f64x2 1.388888888888889e-3 1.388888888888889e-3) (f64x2.mul (v128.const f64x2 1.984126984126984e-4 1.984126984126984e-4) (local.get $d)))))))
          (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $dq))
            (f64x2.add (f64x2.add (v128.const f64x2 1 1) (local.get $d))
                       (f64x2.mul (local.get $dd) (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (v128.const f64x2 0.16666666666666666 0.16666666666666666) (local.get $d)))))))
          (local.set $e (f64x2.mul (local.get $e)
            (i64x2.shl (i64x2.add (local.get $t) (v128.const i64x2 1023 1023)) (i32.const 52))))
          (v128.store (i32.add (local.get $ex) (local.get $c)) (local.get $e))
          (local.set $d2 (f64x2.pmin (f64x2.pmax
            (f64x2.sub (v128.load offset=16 (i32.add (local.get $lg) (local.get $c))) (local.get $vmx))
            (v128.const f64x2 -708 -708)) (v128.const f64x2 0 0)))
          (local.set $t2 (f64x2.add (f64x2.mul (local.get $d2) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
                                   (v128.const f64x2 6755399441055744 6755399441055744)))
          (local.set $kf2 (f64x2.sub (local.get $t2) (v128.const f64x2 6755399441055744 6755399441055744)))
          (local.set $d2 (f64x2.sub
            (f64x2.sub (local.get $d2) (f64x2.mul (local.get $kf2) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
            (f64x2.mul (local.get $kf2) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
          (local.set $dd2 (f64x2.mul (local.get $d2) (local.get $d2)))
          (local.set $dq2 (f64x2.mul (local.get $dd2) (local.get $dd2)))
          (local.set $e2 (f64x2.add (f64x2.add (f64x2.add (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5) (f64x2.mul (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6) (local.get $d2)))
                                               (f64x2.mul (local.get $dd2) (f64x2.add (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7) (f64x2.mul (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8) (local.get $d2)))))
                                   (f64x2.mul (local.get $dq2) (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9))))
          (local.set $e2 (f64x2.add (f64x2.mul (local.get $e2) (local.get $dq2))
            (f64x2.add (f64x2.add (v128.const f64x2 4.1666666666666664e-2 4.1666666666666664e-2) (f64x2.mul (v128.const f64x2 8.333333333333333e-3 8.333333333333333e-3) (local.get $d2)))
                       (f64x2.mul (local.get $dd2) (f64x2.add (v128.const f64x2 1.388888888888889e-3 1.388888888888889e-3) (f64x2.mul (v128.const f64x2 1.984126984126984e-4 1.984126984126984e-4) (local.get $d2)))))))
          (local.set $e2 (f64x2.add (f64x2.mul (local.get $e2) (local.get $dq2))
            (f64x2.add (f64x2.add (v128.const f64x2 1 1) (local.get $d2))
                       (f64x2.mul (local.get $dd2) (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (v128.const f64x2 0.16666666666666666 0.16666666666666666) (local.get $d2)))))))
          (local.set $e2 (f64x2.mul (local.get $e2)
            (i64x2.shl (i64x2.add (local.get $t2) (v128.const i64x2 1023 1023)) (i32.const 52))))
          (v128.store offset=16 (i32.add (local.get $ex) (local.get $c)) (local.get $e2))
          (local.set $c (i32.add (local.get $c) (i32.const 32)))
          (br $el)))
        (local.set $c (local.get $n))
        (block $pad_done (loop $pad
          (br_if $pad_done (i32.ge_s (local.get $c) (local.get $np)))
          (f64.store (i32.add (local.get $ex) (i32.shl (local.get $c) (i32.const 3))) (f64.const 0))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $pad)))
        (local.set $c (i32.const 0))
        (block $s_done (loop $sl
          (br_if $s_done (i32.ge_s (local.get $c) (local.get $rowd)))
          (local.set $acc0 (f64x2.add (local.get $acc0) (v128.load (i32.add (local.get $ex) (local.get $c)))))
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
            ;; p = e / s (float64), those below 2^-60 set to 0; gb2 += w (p - onehot); this
            ;; pair's row of DL = p - onehot as float32 (two demoted halves shuffled into one
            ;; vector); then the label's entries again, p_y - 1 taken in float64
            (local.set $dl (i32.add (local.get $DL) (i32.mul (local.get $m) (local.get $npb))))
            (local.set $hs (f64x2.splat (f64.div (f64.const 1) (local.get $s))))
            (local.set $vmx (f64x2.splat (local.get $w)))
            (local.set $c (i32.const 0))
            (block $dl_done (loop $dll
              (br_if $dl_done (i32.ge_s (local.get $c) (local.get $rowd)))
              (local.set $d (f64x2.mul (v128.load (i32.add (local.get $ex) (local.get $c))) (local.get $hs)))
              (local.set $d (v128.and (local.get $d) (f64x2.ge (local.get $d) (v128.const f64x2 0x1p-60 0x1p-60))))
              (local.set $d2 (f64x2.mul (v128.load offset=16 (i32.add (local.get $ex) (local.get $c))) (local.get $hs)))
              (local.set $d2 (v128.and (local.get $d2) (f64x2.ge (local.get $d2) (v128.const f64x2 0x1p-60 0x1p-60))))
              (local.set $r (i32.add (local.get $gb2) (local.get $c)))
              (v128.store (local.get $r) (f64x2.add (v128.load (local.get $r)) (f64x2.mul (local.get $vmx) (local.get $d))))
              (v128.store offset=16 (local.get $r) (f64x2.add (v128.load offset=16 (local.get $r)) (f64x2.mul (local.get $vmx) (local.get $d2))))
              (v128.store (i32.add (local.get $dl) (i32.shr_u (local.get $c) (i32.const 1)))
                (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                  (f32x4.demote_f64x2_zero (local.get $d)) (f32x4.demote_f64x2_zero (local.get $d2))))
              (local.set $c (i32.add (local.get $c) (i32.const 32)))
              (br $dll)))
            (local.set $v (f64.mul (f64.load (i32.add (local.get $ex) (i32.shl (local.get $y) (i32.const 3))))
                                   (f64x2.extract_lane 0 (local.get $hs))))
            (local.set $v (select (local.get $v) (f64.const 0) (f64.ge (local.get $v) (f64.const 0x1p-60))))
            (f32.store (i32.add (local.get $dl) (i32.shl (local.get $y) (i32.const 2)))
                       (f32.demote_f64 (f64.sub (local.get $v) (f64.const 1))))
            (local.set $r (i32.add (local.get $gb2) (i32.shl (local.get $y) (i32.const 3))))
            (f64.store (local.get $r) (f64.sub (f64.load (local.get $r)) (local.get $w)))

            ;; dz_k = w (DL row . W2[row_k]) for the active units, four at a time then one:
            ;; float32 sums of np / 4 classes per lane, the four lanes added in float64; kept
            ;; in zv
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
                (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $r0) (local.get $c))))))
                (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $r1) (local.get $c))))))
                (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $r2) (local.get $c))))))
                (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $r3) (local.get $c))))))
                (local.set $c (i32.add (local.get $c) (i32.const 16)))
                (br $cl)))
              ;; each accumulator's four lanes: promoted in two halves, added in float64
              (local.set $acc0 (f64x2.add (f64x2.promote_low_f32x4 (local.get $acc0))
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc0) (local.get $acc0)))))
              (local.set $acc1 (f64x2.add (f64x2.promote_low_f32x4 (local.get $acc1))
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc1) (local.get $acc1)))))
              (local.set $acc2 (f64x2.add (f64x2.promote_low_f32x4 (local.get $acc2))
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc2) (local.get $acc2)))))
              (local.set $acc3 (f64x2.add (f64x2.promote_low_f32x4 (local.get $acc3))
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc3) (local.get $acc3)))))
              (local.set $q (i32.add (local.get $zv) (i32.shl (local.get $k) (i32.const 3))))
              (f64.store (local.get $q) (f64.mul (local.get $w)
                (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0)))))
              (f64.store offset=8 (local.get $q) (f64.mul (local.get $w)
                (f64.add (f64x2.extract_lane 0 (local.get $acc1)) (f64x2.extract_lane 1 (local.get $acc1)))))
              (f64.store offset=16 (local.get $q) (f64.mul (local.get $w)
                (f64.add (f64x2.extract_lane 0 (local.get $acc2)) (f64x2.extract_lane 1 (local.get $acc2)))))
              (f64.store offset=24 (local.get $q) (f64.mul (local.get $w)
                (f64.add (f64x2.extract_lane 0 (local.get $acc3)) (f64x2.extract_lane 1 (local.get $acc3)))))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br $z4)))
            (block $z1_done (loop $z1
              (br_if $z1_done (i32.ge_s (local.get $k) (local.get $na)))
              (local.set $r0 (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
              (local.set $acc0 (v128.const i64x2 0 0))
              (local.set $c (i32.const 0))
              (block $c_done (loop $cl
                (br_if $c_done (i32.ge_s (local.get $c) (local.get $npb)))
                (local.set $acc0 (f32x4.add (local.get $acc0)
                  (f32x4.mul (v128.load (i32.add (local.get $dl) (local.get $c))) (v128.load (i32.add (local.get $r0) (local.get $c))))))
                (local.set $c (i32.add (local.get $c) (i32.const 16)))
                (br $cl)))
              (local.set $acc0 (f64x2.add (f64x2.promote_low_f32x4 (local.get $acc0))
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc0) (local.get $acc0)))))
              (f64.store (i32.add (local.get $zv) (i32.shl (local.get $k) (i32.const 3))) (f64.mul (local.get $w)
                (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0)))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $z1)))
            ;; each active unit j with its dz: gW1[:, j] += x dz, gb1[j] += dz, dL/dx += dz W1[:, j]
            (local.set $dx0 (f64.const 0))
            (local.set $dx1 (f64.const 0))
            (local.set $k (i32.const 0))
            (block $u_done (loop $ul
              (br_if $u_done (i32.ge_s (local.get $k) (local.get $na)))
              (local.set $zs (f64.load (i32.add (local.get $zv) (i32.shl (local.get $k) (i32.const 3)))))
              (local.set $r0 (i32.shl (i32.load (i32.add (local.get $act) (i32.shl (local.get $k) (i32.const 2)))) (i32.const 3)))
              (local.set $r1 (i32.add (local.get $r0) (i32.shl (local.get $H) (i32.const 3))))
              (local.set $r (i32.add (local.get $gW1) (local.get $r0)))
              (f64.store (local.get $r) (f64.add (f64.load (local.get $r)) (f64.mul (local.get $x0) (local.get $zs))))
              (local.set $r (i32.add (local.get $gW1) (local.get $r1)))
              (f64.store (local.get $r) (f64.add (f64.load (local.get $r)) (f64.mul (local.get $x1) (local.get $zs))))
              (local.set $r (i32.add (local.get $gb1) (local.get $r0)))
              (f64.store (local.get $r) (f64.add (f64.load (local.get $r)) (local.get $zs)))
              (local.set $dx0 (f64.add (local.get $dx0) (f64.mul (local.get $zs) (f64.load (i32.add (local.get $W1) (local.get $r0))))))
              (local.set $dx1 (f64.add (local.get $dx1) (f64.mul (local.get $zs) (f64.load (i32.add (local.get $W1) (local.get $r1))))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $ul)))
            ;; dL/dx onto both embeddings
            (local.set $r (i32.add (local.get $gE) (i32.sub (local.get $a) (local.get $E))))
            (f64.store (local.get $r) (f64.add (f64.load (local.get $r)) (local.get $dx0)))
            (f64.store offset=8 (local.get $r) (f64.add (f64.load offset=8 (local.get $r)) (local.get $dx1)))
            (local.set $r (i32.add (local.get $gE) (i32.sub (local.get $b) (local.get $E))))
            (f64.store (local.get $r) (f64.add (f64.load (local.get $r)) (local.get $dx0)))
            (f64.store offset=8 (local.get $r) (f64.add (f64.load offset=8 (local.get $r)) (local.get $dx1)))))

        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pairs)))

      ;; the block's gradient of W2: gW2[j] += sum over unit j's list of (w h) DL[row]: float32
      ;; sums over the list (at most 32 pairs) of 32 classes at a time in registers, then 16,
      ;; then 4, each added to the float64 gW2 (its two halves promoted)
      (if (local.get $grad)
        (then
          (local.set $j (i32.const 0))
          (block $u_done (loop $units
            (br_if $u_done (i32.ge_s (local.get $j) (local.get $H)))
            (local.set $cj (i32.load (i32.add (local.get $cnt) (i32.shl (local.get $j) (i32.const 2)))))
            (if (local.get $cj)
              (then
                (local.set $g (i32.add (local.get $gW2) (i32.mul (local.get $j) (local.get $rowd))))
                (local.set $lh (i32.add (local.get $LH) (i32.shl (local.get $j) (i32.const 7))))
                (local.set $li (i32.add (local.get $LI) (i32.shl (local.get $j) (i32.const 7))))
                (local.set $c (i32.const 0))
                (block $g32_done (loop $g32
                  (br_if $g32_done (i32.gt_s (i32.add (local.get $c) (i32.const 128)) (local.get $npb)))
                  (local.set $acc0 (v128.const i64x2 0 0)) (local.set $acc1 (v128.const i64x2 0 0)) (local.set $acc2 (v128.const i64x2 0 0)) (local.set $acc3 (v128.const i64x2 0 0)) (local.set $acc4 (v128.const i64x2 0 0)) (local.set $acc5 (v128.const i64x2 0 0)) (local.set $acc6 (v128.const i64x2 0 0)) (local.set $acc7 (v128.const i64x2 0 0))
                  (local.set $k (i32.const 0))
                  (block $k_done (loop $ks
                    (br_if $k_done (i32.ge_s (local.get $k) (local.get $cj)))
                    (local.set $hs (v128.load32_splat (i32.add (local.get $lh) (i32.shl (local.get $k) (i32.const 2)))))
                    (local.set $r (i32.add (i32.add (local.get $DL) (local.get $c)) (i32.load (i32.add (local.get $li) (i32.shl (local.get $k) (i32.const 2))))))
                    (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $hs) (v128.load (local.get $r)))))
                    (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $hs) (v128.load offset=16 (local.get $r)))))
                    (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $hs) (v128.load offset=32 (local.get $r)))))
                    (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $hs) (v128.load offset=48 (local.get $r)))))
                    (local.set $acc4 (f32x4.add (local.get $acc4) (f32x4.mul (local.get $hs) (v128.load offset=64 (local.get $r)))))
                    (local.set $acc5 (f32x4.add (local.get $acc5) (f32x4.mul (local.get $hs) (v128.load offset=80 (local.get $r)))))
                    (local.set $acc6 (f32x4.add (local.get $acc6) (f32x4.mul (local.get $hs) (v128.load offset=96 (local.get $r)))))
                    (local.set $acc7 (f32x4.add (local.get $acc7) (f32x4.mul (local.get $hs) (v128.load offset=112 (local.get $r)))))
                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (br $ks)))
                  (local.set $q (i32.add (local.get $g) (i32.shl (local.get $c) (i32.const 1))))
                  (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc0))))
                  (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc0) (local.get $acc0)))))
                  (v128.store offset=32 (local.get $q) (f64x2.add (v128.load offset=32 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc1))))
                  (v128.store offset=48 (local.get $q) (f64x2.add (v128.load offset=48 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc1) (local.get $acc1)))))
                  (v128.store offset=64 (local.get $q) (f64x2.add (v128.load offset=64 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc2))))
                  (v128.store offset=80 (local.get $q) (f64x2.add (v128.load offset=80 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc2) (local.get $acc2)))))
                  (v128.store offset=96 (local.get $q) (f64x2.add (v128.load offset=96 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc3))))
                  (v128.store offset=112 (local.get $q) (f64x2.add (v128.load offset=112 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc3) (local.get $acc3)))))
                  (v128.store offset=128 (local.get $q) (f64x2.add (v128.load offset=128 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc4))))
                  (v128.store offset=144 (local.get $q) (f64x2.add (v128.load offset=144 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc4) (local.get $acc4)))))
                  (v128.store offset=160 (local.get $q) (f64x2.add (v128.load offset=160 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc5))))
                  (v128.store offset=176 (local.get $q) (f64x2.add (v128.load offset=176 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc5) (local.get $acc5)))))
                  (v128.store offset=192 (local.get $q) (f64x2.add (v128.load offset=192 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc6))))
                  (v128.store offset=208 (local.get $q) (f64x2.add (v128.load offset=208 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc6) (local.get $acc6)))))
                  (v128.store offset=224 (local.get $q) (f64x2.add (v128.load offset=224 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc7))))
                  (v128.store offset=240 (local.get $q) (f64x2.add (v128.load offset=240 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc7) (local.get $acc7)))))
                  (local.set $c (i32.add (local.get $c) (i32.const 128)))
                  (br $g32)))
                (block $g16_done (loop $g16
                  (br_if $g16_done (i32.gt_s (i32.add (local.get $c) (i32.const 64)) (local.get $npb)))
                  (local.set $acc0 (v128.const i64x2 0 0)) (local.set $acc1 (v128.const i64x2 0 0)) (local.set $acc2 (v128.const i64x2 0 0)) (local.set $acc3 (v128.const i64x2 0 0))
                  (local.set $k (i32.const 0))
                  (block $k_done (loop $ks
                    (br_if $k_done (i32.ge_s (local.get $k) (local.get $cj)))
                    (local.set $hs (v128.load32_splat (i32.add (local.get $lh) (i32.shl (local.get $k) (i32.const 2)))))
                    (local.set $r (i32.add (i32.add (local.get $DL) (local.get $c)) (i32.load (i32.add (local.get $li) (i32.shl (local.get $k) (i32.const 2))))))
                    (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $hs) (v128.load (local.get $r)))))
                    (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $hs) (v128.load offset=16 (local.get $r)))))
                    (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $hs) (v128.load offset=32 (local.get $r)))))
                    (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $hs) (v128.load offset=48 (local.get $r)))))
                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (br $ks)))
                  (local.set $q (i32.add (local.get $g) (i32.shl (local.get $c) (i32.const 1))))
                  (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc0))))
                  (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc0) (local.get $acc0)))))
                  (v128.store offset=32 (local.get $q) (f64x2.add (v128.load offset=32 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc1))))
                  (v128.store offset=48 (local.get $q) (f64x2.add (v128.load offset=48 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc1) (local.get $acc1)))))
                  (v128.store offset=64 (local.get $q) (f64x2.add (v128.load offset=64 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc2))))
                  (v128.store offset=80 (local.get $q) (f64x2.add (v128.load offset=80 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc2) (local.get $acc2)))))
                  (v128.store offset=96 (local.get $q) (f64x2.add (v128.load offset=96 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc3))))
                  (v128.store offset=112 (local.get $q) (f64x2.add (v128.load offset=112 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc3) (local.get $acc3)))))
                  (local.set $c (i32.add (local.get $c) (i32.const 64)))
                  (br $g16)))
                (block $g4_done (loop $g4
                  (br_if $g4_done (i32.gt_s (i32.add (local.get $c) (i32.const 16)) (local.get $npb)))
                  (local.set $acc0 (v128.const i64x2 0 0))
                  (local.set $k (i32.const 0))
                  (block $k_done (loop $ks
                    (br_if $k_done (i32.ge_s (local.get $k) (local.get $cj)))
                    (local.set $hs (v128.load32_splat (i32.add (local.get $lh) (i32.shl (local.get $k) (i32.const 2)))))
                    (local.set $r (i32.add (i32.add (local.get $DL) (local.get $c)) (i32.load (i32.add (local.get $li) (i32.shl (local.get $k) (i32.const 2))))))
                    (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $hs) (v128.load (local.get $r)))))
                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (br $ks)))
                  (local.set $q (i32.add (local.get $g) (i32.shl (local.get $c) (i32.const 1))))
                  (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (f64x2.promote_low_f32x4 (local.get $acc0))))
                  (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $acc0) (local.get $acc0)))))
                  (local.set $c (i32.add (local.get $c) (i32.const 16)))
                  (br $g4)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $units)))))
      (br $blocks))))

  ;; repel: the particles' repulsion (particles.js), the exact sum over all pairs of sums
  ;; p < q with different answers: with d = s_p - s_q and K = rep exp(c |d|^2) (c < 0),
  ;; f_p += W_q K d and f_q -= W_p K d. Arrays of float64 (byte addresses): X, Y (the sums),
  ;; L (their answers), W (their weights), FX, FY (the forces, added to: the caller zeroes
  ;; them), each with at least U + 3 entries, those from U on with weight 0: the loop over q
  ;; takes four sums at a time from an even q (two lanes, two streams), so a row's first
  ;; block may hold q = p, which its equal answer drops, and its last may run past U.
  ;; The exp is the pass's (the argument clamped to >= -708, NaN kept; the same range
  ;; reduction and Taylor series to r^12), its polynomial evaluated by Estrin's scheme (with
  ;; r^2 and r^4: a shorter chain of dependent steps than Horner's; within 5e-16 of exp).
  ;; pmax, not max: one instruction (max's NaN and -0 rules cost seven on x64).
  (func (export "repel")
    (param $U i32) (param $X i32) (param $Y i32) (param $L i32) (param $W i32) (param $FX i32) (param $FY i32)
    (param $c f64) (param $rep f64)
    (local $p i32) (local $o i32) (local $q i32) (local $end i32) (local $r i32)
    (local $px v128) (local $py v128) (local $lp v128) (local $wp v128) (local $vc v128) (local $vr v128)
    (local $ax v128) (local $ay v128)
    (local $dx v128) (local $dy v128) (local $d v128) (local $t v128) (local $kf v128) (local $e v128)
    (local $k v128) (local $dd v128) (local $dq v128)
    (local $dx2 v128) (local $dy2 v128) (local $d2 v128) (local $t2 v128) (local $kf2 v128) (local $e2 v128)
    (local $k2 v128) (local $dd2 v128) (local $dq2 v128)
    (local.set $vc (f64x2.splat (local.get $c)))
    (local.set $vr (f64x2.splat (local.get $rep)))
    (local.set $end (i32.shl (local.get $U) (i32.const 3)))
    (local.set $p (i32.const 0))
    (block $done (loop $rows
      (br_if $done (i32.ge_s (local.get $p) (local.get $U)))
      (local.set $o (i32.shl (local.get $p) (i32.const 3)))
      (local.set $px (v128.load64_splat (i32.add (local.get $X) (local.get $o))))
      (local.set $py (v128.load64_splat (i32.add (local.get $Y) (local.get $o))))
      (local.set $lp (v128.load64_splat (i32.add (local.get $L) (local.get $o))))
      (local.set $wp (v128.load64_splat (i32.add (local.get $W) (local.get $o))))
      (local.set $ax (v128.const i64x2 0 0))
      (local.set $ay (v128.const i64x2 0 0))
      (local.set $q (i32.shl (i32.and (i32.add (local.get $p) (i32.const 1)) (i32.const -2)) (i32.const 3)))
      (block $cols_done (loop $cols
        (br_if $cols_done (i32.ge_s (local.get $q) (local.get $end)))
        ;; sums q, q + 1: (dx, dy) = s_p - s_q; d = c |s_p - s_q|^2 clamped; d = k ln2 + r as in
        ;; the pass (t holds k), r kept in d, r^2 in dd, r^4 in dq; then Estrin's scheme for
        ;; sum_j r^j / j!: [(c8 + c9 r) + r^2 (c10 + c11 r) + r^4 c12] r^8 + [(c4 + c5 r) +
        ;; r^2 (c6 + c7 r)] r^4 + (1 + r) + r^2 (c2 + c3 r); times 2^k; K masked by the answers
        (local.set $dx (f64x2.sub (local.get $px) (v128.load (i32.add (local.get $X) (local.get $q)))))
        (local.set $dy (f64x2.sub (local.get $py) (v128.load (i32.add (local.get $Y) (local.get $q)))))
        (local.set $d (f64x2.pmax (f64x2.mul (local.get $vc)
          (f64x2.add (f64x2.mul (local.get $dx) (local.get $dx)) (f64x2.mul (local.get $dy) (local.get $dy))))
          (v128.const f64x2 -708 -708)))
        (local.set $t (f64x2.add (f64x2.mul (local.get $d) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
                                 (v128.const f64x2 6755399441055744 6755399441055744)))
        (local.set $kf (f64x2.sub (local.get $t) (v128.const f64x2 6755399441055744 6755399441055744)))
        (local.set $d (f64x2.sub
          (f64x2.sub (local.get $d) (f64x2.mul (local.get $kf) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
          (f64x2.mul (local.get $kf) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
        (local.set $dd (f64x2.mul (local.get $d) (local.get $d)))
        (local.set $dq (f64x2.mul (local.get $dd) (local.get $dd)))
        (local.set $e (f64x2.add (f64x2.add (f64x2.add (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5) (f64x2.mul (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6) (local.get $d)))
                                             (f64x2.mul (local.get $dd) (f64x2.add (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7) (f64x2.mul (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8) (local.get $d)))))
                                 (f64x2.mul (local.get $dq) (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9))))
        (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $dq))
          (f64x2.add (f64x2.add (v128.const f64x2 4.1666666666666664e-2 4.1666666666666664e-2) (f64x2.mul (v128.const f64x2 8.333333333333333e-3 8.333333333333333e-3) (local.get $d)))
                     (f64x2.mul (local.get $dd) (f64x2.add (v128.const f64x2 1.388888888888889e-3 1.388888888888889e-3) (f64x2.mul (v128.const f64x2 1.984126984126984e-4 1.984126984126984e-4) (local.get $d)))))))
        (local.set $e (f64x2.add (f64x2.mul (local.get $e) (local.get $dq))
          (f64x2.add (f64x2.add (v128.const f64x2 1 1) (local.get $d))
                     (f64x2.mul (local.get $dd) (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (v128.const f64x2 0.16666666666666666 0.16666666666666666) (local.get $d)))))))
        (local.set $e (f64x2.mul (local.get $e)
          (i64x2.shl (i64x2.add (local.get $t) (v128.const i64x2 1023 1023)) (i32.const 52))))
        (local.set $k (v128.andnot (f64x2.mul (local.get $vr) (local.get $e))
          (f64x2.eq (local.get $lp) (v128.load (i32.add (local.get $L) (local.get $q))))))
        (local.set $e (f64x2.mul (local.get $k) (v128.load (i32.add (local.get $W) (local.get $q)))))
        (local.set $ax (f64x2.add (local.get $ax) (f64x2.mul (local.get $e) (local.get $dx))))
        (local.set $ay (f64x2.add (local.get $ay) (f64x2.mul (local.get $e) (local.get $dy))))
        (local.set $k (f64x2.mul (local.get $k) (local.get $wp)))
        (local.set $r (i32.add (local.get $FX) (local.get $q)))
        (v128.store (local.get $r) (f64x2.sub (v128.load (local.get $r)) (f64x2.mul (local.get $k) (local.get $dx))))
        (local.set $r (i32.add (local.get $FY) (local.get $q)))
        (v128.store (local.get $r) (f64x2.sub (v128.load (local.get $r)) (f64x2.mul (local.get $k) (local.get $dy))))
        ;; sums q + 2, q + 3: the same
        (local.set $dx2 (f64x2.sub (local.get $px) (v128.load offset=16 (i32.add (local.get $X) (local.get $q)))))
        (local.set $dy2 (f64x2.sub (local.get $py) (v128.load offset=16 (i32.add (local.get $Y) (local.get $q)))))
        (local.set $d2 (f64x2.pmax (f64x2.mul (local.get $vc)
          (f64x2.add (f64x2.mul (local.get $dx2) (local.get $dx2)) (f64x2.mul (local.get $dy2) (local.get $dy2))))
          (v128.const f64x2 -708 -708)))
        (local.set $t2 (f64x2.add (f64x2.mul (local.get $d2) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
                                 (v128.const f64x2 6755399441055744 6755399441055744)))
        (local.set $kf2 (f64x2.sub (local.get $t2) (v128.const f64x2 6755399441055744 6755399441055744)))
        (local.set $d2 (f64x2.sub
          (f64x2.sub (local.get $d2) (f64x2.mul (local.get $kf2) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
          (f64x2.mul (local.get $kf2) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
        (local.set $dd2 (f64x2.mul (local.get $d2) (local.get $d2)))
        (local.set $dq2 (f64x2.mul (local.get $dd2) (local.get $dd2)))
        (local.set $e2 (f64x2.add (f64x2.add (f64x2.add (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5) (f64x2.mul (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6) (local.get $d2)))
                                             (f64x2.mul (local.get $dd2) (f64x2.add (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7) (f64x2.mul (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8) (local.get $d2)))))
                                 (f64x2.mul (local.get $dq2) (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9))))
        (local.set $e2 (f64x2.add (f64x2.mul (local.get $e2) (local.get $dq2))
          (f64x2.add (f64x2.add (v128.const f64x2 4.1666666666666664e-2 4.1666666666666664e-2) (f64x2.mul (v128.const f64x2 8.333333333333333e-3 8.333333333333333e-3) (local.get $d2)))
                     (f64x2.mul (local.get $dd2) (f64x2.add (v128.const f64x2 1.388888888888889e-3 1.388888888888889e-3) (f64x2.mul (v128.const f64x2 1.984126984126984e-4 1.984126984126984e-4) (local.get $d2)))))))
        (local.set $e2 (f64x2.add (f64x2.mul (local.get $e2) (local.get $dq2))
          (f64x2.add (f64x2.add (v128.const f64x2 1 1) (local.get $d2))
                     (f64x2.mul (local.get $dd2) (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (v128.const f64x2 0.16666666666666666 0.16666666666666666) (local.get $d2)))))))
        (local.set $e2 (f64x2.mul (local.get $e2)
          (i64x2.shl (i64x2.add (local.get $t2) (v128.const i64x2 1023 1023)) (i32.const 52))))
        (local.set $k2 (v128.andnot (f64x2.mul (local.get $vr) (local.get $e2))
          (f64x2.eq (local.get $lp) (v128.load offset=16 (i32.add (local.get $L) (local.get $q))))))
        (local.set $e2 (f64x2.mul (local.get $k2) (v128.load offset=16 (i32.add (local.get $W) (local.get $q)))))
        (local.set $ax (f64x2.add (local.get $ax) (f64x2.mul (local.get $e2) (local.get $dx2))))
        (local.set $ay (f64x2.add (local.get $ay) (f64x2.mul (local.get $e2) (local.get $dy2))))
        (local.set $k2 (f64x2.mul (local.get $k2) (local.get $wp)))
        (local.set $r (i32.add (local.get $FX) (local.get $q)))
        (v128.store offset=16 (local.get $r) (f64x2.sub (v128.load offset=16 (local.get $r)) (f64x2.mul (local.get $k2) (local.get $dx2))))
        (local.set $r (i32.add (local.get $FY) (local.get $q)))
        (v128.store offset=16 (local.get $r) (f64x2.sub (v128.load offset=16 (local.get $r)) (f64x2.mul (local.get $k2) (local.get $dy2))))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (br $cols)))
      (local.set $r (i32.add (local.get $FX) (local.get $o)))
      (f64.store (local.get $r) (f64.add (f64.load (local.get $r))
        (f64.add (f64x2.extract_lane 0 (local.get $ax)) (f64x2.extract_lane 1 (local.get $ax)))))
      (local.set $r (i32.add (local.get $FY) (local.get $o)))
      (f64.store (local.get $r) (f64.add (f64.load (local.get $r))
        (f64.add (f64x2.extract_lane 0 (local.get $ay)) (f64x2.extract_lane 1 (local.get $ay)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $rows)))))
