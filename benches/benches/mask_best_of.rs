//! Masking throughput as the best of many interleaved repetitions: a companion to the `mask/`
//! criterion group that stays meaningful on a busy machine (interference only adds time, so the
//! fastest repetition is what the code can do).
//!
//! Run: `taskset -c 1 cargo bench -p ws-benches --bench mask_best_of` (environment: `SIZES`, a
//! comma-separated list of byte counts, and `TRIALS`, default 60). Prints GB/s (10^9 bytes/s).

use std::hint::black_box;
use std::time::Instant;

use ws_benches::{mask_u64_words, read_scan, KEY};
use ws_proto::frame::mask::{apply_mask, apply_mask_bytewise};

/// The word loop as it was before the AVX2 path: the key rotated with `<[u8]>::rotate_left`
/// (an out-of-line call) before every payload.
fn mask_before(buf: &mut [u8], key: [u8; 4]) {
    let mut k = key;
    k.rotate_left(black_box(0) & 3);
    mask_u64_words(buf, k);
}

type Variant = (&'static str, fn(&mut [u8]));

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a mistake.
    if std::env::args().skip(1).any(|a| a != "--bench") {
        eprintln!(
            "usage: cargo bench -p ws-benches --bench mask_best_of (SIZES=16,1024 TRIALS=60)"
        );
        std::process::exit(2);
    }
    let sizes: Vec<usize> = std::env::var("SIZES")
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().parse().expect("SIZES"))
                .collect()
        })
        .unwrap_or_else(|_| {
            vec![
                16,
                64,
                125,
                256,
                512,
                1024,
                2048,
                4096,
                1 << 16,
                1 << 20,
                16 << 20,
            ]
        });
    let trials: usize = std::env::var("TRIALS").map_or(60, |s| s.parse().expect("TRIALS"));
    let variants: [Variant; 5] = [
        ("byte loop", |b| apply_mask_bytewise(b, KEY, 0)),
        ("before", |b| mask_before(b, KEY)),
        ("word loop", |b| mask_u64_words(b, KEY)),
        ("ws-proto", |b| apply_mask(b, KEY, 0)),
        ("read scan", |b| {
            black_box(read_scan(b));
        }),
    ];
    print!("{:>9} {:>7}", "bytes", "start");
    for (name, _) in &variants {
        print!(" {name:>10}");
    }
    println!("   GB/s, best of {trials}");
    for &size in &sizes {
        for misalign in [0usize, 1] {
            let mut backing = vec![0xA5u8; size + 128];
            // Start on a 64-byte boundary, plus the misalignment.
            let start = backing.as_ptr().align_offset(64) + misalign;
            let buf = &mut backing[start..start + size];
            let iterations = (2_000_000 / size.max(1)).clamp(1, 200_000);
            let mut best = [f64::MAX; 5];
            for _ in 0..trials {
                for (i, (name, f)) in variants.iter().enumerate() {
                    if *name == "byte loop" && size > 1 << 16 {
                        continue;
                    }
                    let t = Instant::now();
                    for _ in 0..iterations {
                        f(black_box(&mut *buf));
                    }
                    let nanos = t.elapsed().as_nanos() as f64 / iterations as f64;
                    best[i] = best[i].min(nanos);
                }
            }
            print!(
                "{size:>9} {:>7}",
                if misalign == 0 { "aligned" } else { "+1" }
            );
            for b in best {
                if b == f64::MAX {
                    print!(" {:>10}", "-");
                } else {
                    print!(" {:>10.2}", size as f64 / b);
                }
            }
            println!();
        }
    }
}
