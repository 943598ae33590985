//! The fuzz targets (`cella::fuzz_targets`, also driven by cargo-fuzz in `fuzz/`) on the
//! stable toolchain: each is fed its seeds (`fuzz/seeds/<target>/`, the bundled robots and
//! cells) and a few thousand seeded mutations of them, and must not panic on any, in the
//! calling thread or any other (the service's tasks and workers).
//!
//! `CELLA_FUZZ_SMOKE_ITERS=N` sets the mutations per target (default: 1000 to 5000, a few
//! seconds in all); `CELLA_FUZZ_SMOKE_SEED=S` changes the seed. A failing input is written
//! to `target/fuzz-smoke/` and named in the failure, ready to become a regression test.
#![allow(clippy::unwrap_used)]

use cella::fuzz_targets::{self, TARGETS};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Panics anywhere in the process since the hook was set.
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts every panic, also those of threads and tasks the targets start (which the target's
/// caller never sees unwind).
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}

/// splitmix64: a small, seeded, reproducible generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

/// Tokens worth splicing into text and protobuf inputs: numbers at the edges of what parsers
/// and arithmetic take, structure characters of TOML, JSON and XML, varints at their limits.
const TOKENS: &[&[u8]] = &[
    b"0",
    b"-0",
    b"-1",
    b"1e308",
    b"-1e309",
    b"1e-320",
    b"nan",
    b"inf",
    b"-inf",
    b"NaN",
    b"18446744073709551615",
    b"4294967296",
    b"99999999H",
    b"1e300",
    b"\"",
    b"[",
    b"]",
    b"{",
    b"}",
    b"=",
    b",",
    b"<",
    b">",
    b"/>",
    b"</",
    b"\n",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x80\x80\x80\x80\x10",
    b"\x00\x00\x80\x7f",
    b"\x00\x00\xc0\x7f",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x00",
];

/// One to four random edits of `input` (some splicing in parts of another seed).
fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.byte();
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
                v.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                v.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = v[i..i + n].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            5 | 6 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(len + 1);
                let n = rng.below((len - i).min(8) + 1);
                v.splice(i..i + n, token.iter().copied());
            }
            7 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - i).min(256));
                    let at = rng.below(len + 1);
                    v.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            _ if len > 1 => {
                v.truncate(rng.below(len));
            }
            _ => v.push(rng.byte()),
        }
    }
    v
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir` whose name ends with `suffix`, sorted.
fn files(dir: &Path, suffix: &str) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// The seeds of `target`: its committed seed files and the repository's own inputs.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let mut out = files(&root().join("fuzz/seeds").join(target), "");
    let robots = root().join("robots");
    let mut robot_dirs: Vec<PathBuf> = std::fs::read_dir(&robots)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    robot_dirs.sort();
    match target {
        "urdf" => robot_dirs
            .iter()
            .for_each(|d| out.extend(files(d, ".urdf"))),
        "robot_toml" => robot_dirs
            .iter()
            .for_each(|d| out.extend(files(d, "robot.toml"))),
        "cell_toml" => out.extend(files(&root().join("cells"), ".toml")),
        "service" => out.extend(fuzz_targets::service_seeds()),
        _ => {}
    }
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

/// Mutations per target: `CELLA_FUZZ_SMOKE_ITERS`, or `default`.
fn iterations(default: usize) -> usize {
    std::env::var("CELLA_FUZZ_SMOKE_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn base_seed() -> u64 {
    std::env::var("CELLA_FUZZ_SMOKE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x00c3_11a0_f022)
}

/// Feeds `target` its seeds, then `iterations` mutations of them (and some random bytes);
/// fails naming the first input that panicked, written to `target/fuzz-smoke/`.
fn smoke(name: &str, iterations: usize) {
    count_panics();
    let target = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap();
    let seeds = seeds(name);
    let mut rng = Rng(base_seed() ^ name.bytes().fold(0, |h, b| h * 31 + u64::from(b)));
    let random = |rng: &mut Rng| -> Vec<u8> {
        let n = rng.below(256);
        (0..n).map(|_| rng.byte()).collect()
    };
    let inputs = seeds.iter().cloned().chain((0..iterations).map(|k| {
        if k % 16 == 15 {
            random(&mut rng)
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed, &seeds)
        }
    }));
    let mut count = 0;
    for input in inputs {
        count += 1;
        let before = PANICS.load(Ordering::SeqCst);
        let caught = catch_unwind(AssertUnwindSafe(|| target(&input))).is_err();
        if caught || PANICS.load(Ordering::SeqCst) != before {
            let dir = root().join("target/fuzz-smoke");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}-{count}.bin"));
            std::fs::write(&path, &input).unwrap();
            panic!(
                "fuzz target {name} panicked on input {count} ({} bytes), written to {}: {:?}",
                input.len(),
                path.display(),
                String::from_utf8_lossy(&input[..input.len().min(400)])
            );
        }
    }
    assert_eq!(count, seeds.len() + iterations);
}

#[test]
fn urdf_survives_mutations() {
    // each URDF that parses builds its collision geometry: a few ms
    smoke("urdf", iterations(1000));
}

#[test]
fn robot_toml_survives_mutations() {
    smoke("robot_toml", iterations(3000));
}

#[test]
fn cell_toml_survives_mutations() {
    // each cell that parses builds its robots and their allowed collisions: a few ms
    smoke("cell_toml", iterations(1000));
}

#[test]
fn problem_json_survives_mutations() {
    smoke("problem_json", iterations(3000));
}

#[test]
fn stl_survives_mutations() {
    smoke("stl", iterations(5000));
}

#[test]
fn obj_survives_mutations() {
    smoke("obj", iterations(5000));
}

#[test]
fn every_request_of_the_service_survives_mutations() {
    smoke("service", iterations(2000));
}

/// Every input a fuzzer found a crash with (`fuzz/regressions/<target>/`), replayed: each was
/// fixed and has a regression test next to its fix; this keeps the exact bytes.
#[test]
fn the_inputs_that_crashed_a_target_once_no_longer_do() {
    count_panics();
    let mut replayed = 0;
    for (name, target) in TARGETS {
        for input in files(&root().join("fuzz/regressions").join(name), "") {
            let before = PANICS.load(Ordering::SeqCst);
            let caught = catch_unwind(AssertUnwindSafe(|| target(&input))).is_err();
            assert!(
                !caught && PANICS.load(Ordering::SeqCst) == before,
                "{name} panics again on {input:?}"
            );
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no regression inputs found");
}

#[test]
fn every_target_has_a_smoke_test() {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "urdf",
            "robot_toml",
            "cell_toml",
            "problem_json",
            "stl",
            "obj",
            "service"
        ]
    );
    // and a cargo-fuzz target of the same name
    for name in names {
        let path = root().join("fuzz/fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("fuzz_targets::{name}(")),
            "{} does not call fuzz_targets::{name}",
            path.display()
        );
    }
}

/// Writes the service target's seeds to `fuzz/seeds/service/` (run when the API changes:
/// `cargo test --test fuzz_smoke -- --ignored write_service_seeds`).
#[test]
#[ignore = "writes files; run by hand when the API changes"]
fn write_service_seeds() {
    let dir = root().join("fuzz/seeds/service");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, seed) in fuzz_targets::service_seeds().iter().enumerate() {
        let rpc = fuzz_targets::RPCS[i / 2];
        let kind = if i % 2 == 0 { "plain" } else { "timeout" };
        std::fs::write(dir.join(format!("{rpc}-{kind}.bin")), seed).unwrap();
    }
}
