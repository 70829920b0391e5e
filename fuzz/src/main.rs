//! `halo-fuzz`: runs each of halo's parsers on inputs made by mutating the
//! seed corpus in `fuzz/corpus/<target>/`, for a bounded time, and fails if
//! any input makes one panic (an assertion of what must hold, or a crash).
//! Such an input is saved to `fuzz/artifacts/<target>/` to replay.
//!
//! It runs on the stable toolchain, with no coverage feedback: mutations
//! are random (a seeded xorshift, so a run can be repeated with `--seed`),
//! guided only by the seeds and a list of tokens parsers care about.
//!
//! Usage: `halo-fuzz [--seconds N] [--seed N] [--corpus DIR] [TARGET...]`

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod mutate;

use mutate::Rng;

/// A parser under test, with its input as bytes.
struct Target {
    name: &'static str,
    run: fn(&[u8], &Path),
}

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

const TARGETS: &[Target] = &[
    Target {
        name: "event_name",
        run: |input, _| halo::fuzzing::event_name(&text(input)),
    },
    Target {
        name: "event_arguments",
        run: |input, _| halo::fuzzing::event_arguments(&text(input)),
    },
    Target {
        name: "view_spec",
        run: |input, _| halo::fuzzing::view_spec(&text(input)),
    },
    Target {
        name: "tenant_toml",
        run: |input, _| halo::fuzzing::tenant_toml(&text(input)),
    },
    Target {
        name: "settings_file",
        run: |input, scratch| {
            let path = scratch.join("halo.toml");
            if std::fs::write(&path, input).is_ok() {
                halo::fuzzing::settings_file(&path);
            }
        },
    },
    Target {
        name: "merge",
        run: |input, _| {
            let input = text(input);
            let (model, update) = input.split_once('\n').unwrap_or((&input, "{}"));
            halo::fuzzing::merge(model, update);
        },
    },
];

struct Options {
    seconds: u64,
    seed: u64,
    corpus: PathBuf,
    targets: Vec<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        seconds: 10,
        seed: 0x5eed,
        corpus: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus")),
        targets: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seconds" => {
                options.seconds = value("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?;
            }
            "--seed" => {
                options.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?;
            }
            "--corpus" => options.corpus = PathBuf::from(value("--corpus")?),
            name if TARGETS.iter().any(|t| t.name == name) => options.targets.push(arg),
            other => {
                let names: Vec<_> = TARGETS.iter().map(|t| t.name).collect();
                return Err(format!(
                    "unknown argument {other:?}; targets: {}",
                    names.join(", ")
                ));
            }
        }
    }
    Ok(options)
}

/// The seeds of `target`, or one empty input when it has none.
fn seeds(corpus: &Path, target: &str) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(corpus.join(target))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .collect();
    if seeds.is_empty() {
        seeds.push(Vec::new());
    }
    seeds
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(why) => {
            eprintln!("halo-fuzz: {why}");
            return ExitCode::from(2);
        }
    };
    // Panics are what is looked for: each is counted, not printed.
    std::panic::set_hook(Box::new(|_| {}));
    let scratch = std::env::temp_dir().join(format!("halo-fuzz-{}", std::process::id()));
    if let Err(err) = std::fs::create_dir_all(&scratch) {
        eprintln!("halo-fuzz: {}: {err}", scratch.display());
        return ExitCode::from(2);
    }
    let chosen: Vec<&Target> = TARGETS
        .iter()
        .filter(|t| options.targets.is_empty() || options.targets.iter().any(|n| n == t.name))
        .collect();
    let budget =
        Duration::from_secs(options.seconds) / u32::try_from(chosen.len().max(1)).unwrap_or(1);
    let mut failed = false;
    for target in chosen {
        let seeds = seeds(&options.corpus, target.name);
        let mut rng = Rng::new(options.seed);
        let (mut runs, mut crashes) = (0u64, 0u64);
        let start = Instant::now();
        // Every seed as it is, then mutants until the time is up.
        let mut next = 0;
        while next < seeds.len() || start.elapsed() < budget {
            let input = match seeds.get(next) {
                Some(seed) => seed.clone(),
                None => mutate::mutant(&mut rng, &seeds),
            };
            next += 1;
            runs += 1;
            if catch_unwind(AssertUnwindSafe(|| (target.run)(&input, &scratch))).is_err() {
                crashes += 1;
                save(target.name, &input);
            }
        }
        println!("{}: {runs} inputs, {crashes} crashes", target.name);
        failed |= crashes > 0;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Keeps an input that made a target panic.
fn save(target: &str, input: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("artifacts")
        .join(target);
    let name = format!("crash-{:016x}", mutate::hash(input));
    if std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(&name), input))
        .is_ok()
    {
        eprintln!("{target}: an input panicked; saved as fuzz/artifacts/{target}/{name}");
    }
}
