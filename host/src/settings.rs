//! `halo.toml`: settings from a file, beneath `HALO_*` environment variables
//! and command-line flags.
//!
//! Every setting has one name in three places: the flag `--plugin-memory-mib`,
//! the variable `HALO_PLUGIN_MEMORY_MIB` and the key `plugin_memory_mib`. The
//! flags and variables are clap's; a file key fills in a setting only where
//! neither gave it, by being handed to clap as the flag it stands for, so a
//! value from the file is checked by exactly the parser a flag's is.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

/// Why the settings cannot be used; start-up stops with this message.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("reading {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The file is not TOML.
    #[error("{path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file has a key that is no setting.
    #[error("{path}: unknown key `{key}`{hint}")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// A close known key, or the list of them.
        hint: String,
    },
    /// A key of the file has a value its setting does not take.
    #[error("{path}: bad value for `{key}`: {why}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Why, from the setting's own parser.
        why: String,
    },
    /// A `HALO_*` variable has a value its setting does not take.
    #[error("environment variable {var}: {why}")]
    BadEnv {
        /// The variable.
        var: String,
        /// Why, from the setting's own parser.
        why: String,
    },
}

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_FILE: &str = "halo.toml";

/// Checks every `HALO_*` variable that `command` (and its subcommands) reads
/// against its setting's parser, so a bad one is named as a variable rather
/// than as the flag clap would name.
pub fn check_env(command: &Command) -> Result<(), SettingsError> {
    for arg in command.get_arguments() {
        let Some(var) = arg.get_env() else { continue };
        if std::env::var_os(var).is_none() {
            continue;
        }
        // A command of this one argument reads the variable as clap will.
        Command::new("halo")
            .no_binary_name(true)
            .arg(arg.clone().required(false))
            .try_get_matches_from(Vec::<OsString>::new())
            .map_err(|err| SettingsError::BadEnv {
                var: var.to_string_lossy().into_owned(),
                why: reason(&err),
            })?;
    }
    for sub in command.get_subcommands() {
        check_env(sub)?;
    }
    Ok(())
}

/// The flags that carry the settings of the TOML file at `path` which
/// `matches` (parsed by `command`) did not get from a flag or a variable.
/// With `strict`, a key the command does not take is an error; without it
/// (`halo tenant drop` takes only `data` and `tenants`), other keys are left
/// to the commands that take them.
pub fn from_file(
    path: &Path,
    command: &Command,
    matches: &ArgMatches,
    strict: bool,
) -> Result<Vec<OsString>, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|cause| SettingsError::Read {
        path: path.to_owned(),
        cause,
    })?;
    let table: toml::Table =
        text.parse()
            .map_err(|err: toml::de::Error| SettingsError::Syntax {
                path: path.to_owned(),
                message: err.to_string().trim_end().to_owned(),
            })?;
    let mut flags = Vec::new();
    for (key, value) in &table {
        let Some((arg, long)) = settable(command).find(|(arg, _)| arg.get_id().as_str() == key)
        else {
            if !strict {
                continue;
            }
            return Err(SettingsError::UnknownKey {
                path: path.to_owned(),
                key: key.clone(),
                hint: hint(command, key),
            });
        };
        let bad = |why: String| SettingsError::BadValue {
            path: path.to_owned(),
            key: key.clone(),
            why,
        };
        // Flags and variables win over the file.
        if matches!(
            matches.value_source(key),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => {
                if !matches!(arg.get_action(), clap::ArgAction::Append) {
                    return Err(bad("takes one value, not a list".into()));
                }
                items
                    .iter()
                    .map(scalar)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(bad)?
            }
            value => vec![scalar(value).map_err(bad)?],
        };
        for value in values {
            check(arg, long, &value).map_err(|err| bad(reason(&err)))?;
            // One `--long=value` word, so a value starting with `-` stays a
            // value.
            flags.push(OsString::from(format!("--{long}={value}")));
        }
    }
    Ok(flags)
}

/// Parses `--long value` alone, as clap will, without the variable.
fn check(arg: &clap::Arg, long: &str, value: &str) -> Result<(), clap::Error> {
    Command::new("halo")
        .no_binary_name(true)
        .arg(arg.clone().env(clap::builder::Resettable::Reset))
        .try_get_matches_from([format!("--{long}={value}")])
        .map(drop)
}

/// The arguments a file may set, with their long names: named flags, not
/// positionals, `--config` itself, or clap's own.
fn settable(command: &Command) -> impl Iterator<Item = (&clap::Arg, &str)> {
    command.get_arguments().filter_map(|arg| {
        let long = arg.get_long()?;
        (!matches!(arg.get_id().as_str(), "config" | "help" | "version")
            && arg.get_action().takes_values())
        .then_some((arg, long))
    })
}

fn scalar(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Float(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        other => Err(format!(
            "expected a string, number or boolean, found {}",
            other.type_str()
        )),
    }
}

/// ` (did you mean `x`?)` for a near miss, else the known keys.
fn hint(command: &Command, key: &str) -> String {
    let known: Vec<&str> = settable(command)
        .map(|(arg, _)| arg.get_id().as_str())
        .collect();
    let near = known
        .iter()
        .map(|candidate| (strsim::levenshtein(candidate, key), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance);
    match near {
        Some((_, near)) => format!(" (did you mean `{near}`?)"),
        None => format!("; known keys: {}", known.join(", ")),
    }
}

/// A clap error on one line, without its `error: ` prefix and its advice
/// to try `--help`, but with the values it would take.
fn reason(err: &clap::Error) -> String {
    let text = err.to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
        .collect();
    let line = lines.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn command() -> Command {
        Command::new("serve")
            .arg(
                Arg::new("port")
                    .long("port")
                    .value_parser(clap::value_parser!(u16))
                    .default_value("3000"),
            )
            .arg(
                Arg::new("cors_origin")
                    .long("cors-origin")
                    .action(ArgAction::Append),
            )
            .arg(Arg::new("config").long("config"))
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("halo.toml");
        std::fs::write(&path, text).expect("write halo.toml");
        (dir, path)
    }

    fn flags(text: &str, args: &[&str]) -> Result<Vec<String>, SettingsError> {
        let (_dir, path) = file(text);
        let matches =
            command().get_matches_from(std::iter::once("serve").chain(args.iter().copied()));
        Ok(from_file(&path, &command(), &matches, true)?
            .into_iter()
            .map(|flag| flag.to_string_lossy().into_owned())
            .collect())
    }

    #[test]
    fn a_file_value_becomes_its_flag_unless_a_flag_set_it() {
        assert_eq!(flags("port = 4000", &[]).expect("valid"), ["--port=4000"]);
        assert!(
            flags("port = 4000", &["--port", "5000"])
                .expect("valid")
                .is_empty()
        );
    }

    #[test]
    fn lists_become_repeated_flags() {
        assert_eq!(
            flags(
                r#"cors_origin = ["https://a.example", "https://b.example"]"#,
                &[]
            )
            .expect("valid"),
            [
                "--cors-origin=https://a.example",
                "--cors-origin=https://b.example"
            ]
        );
        let err = flags("port = [1, 2]", &[]).expect_err("one value only");
        assert!(err.to_string().contains("`port`: takes one value"), "{err}");
    }

    #[test]
    fn a_value_may_start_with_a_dash() {
        assert_eq!(
            flags("cors_origin = '-x'", &[]).expect("valid"),
            ["--cors-origin=-x"]
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = flags("prot = 4000", &[]).expect_err("unknown key");
        assert!(
            err.to_string()
                .ends_with("unknown key `prot` (did you mean `port`?)"),
            "{err}"
        );
        let err = flags("config = 'x.toml'", &[]).expect_err("not a file setting");
        assert!(err.to_string().contains("unknown key `config`"), "{err}");
        let err = flags("port = 'http'", &[]).expect_err("bad value");
        assert!(
            err.to_string()
                .contains("bad value for `port`: invalid value 'http'"),
            "{err}"
        );
        let err = flags("port = 70000", &[]).expect_err("out of range");
        assert!(err.to_string().contains("bad value for `port`"), "{err}");
        let err = flags("port = ", &[]).expect_err("not TOML");
        assert!(err.to_string().contains("is not valid TOML"), "{err}");
    }
}
