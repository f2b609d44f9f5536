//! Errors of the generator.

use crate::yaml::YamlError;
use std::path::PathBuf;

/// Why a scenario could not be generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// The YAML did not parse into a scenario (file, line, column, what was expected).
    #[error("{0}")]
    Yaml(#[from] YamlError),
    /// The scenario parsed but asks for something impossible or inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// Field path, e.g. `image.parent.layout.bat_offset` or `mutations[2].expect`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A scenario file named in an error (wraps [`GenError::Invalid`] with the file).
    #[error("{file}: {source}")]
    InFile {
        /// The scenario file.
        file: String,
        /// The error.
        source: Box<GenError>,
    },
    /// An output file already exists and `--force` was not given.
    #[error("{0} exists (use --force to overwrite)")]
    Exists(PathBuf),
    /// I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl GenError {
    /// Names the scenario file in the error (YAML errors already carry it).
    pub fn in_file(self, file: &str) -> GenError {
        match self {
            GenError::Yaml(_) | GenError::InFile { .. } | GenError::Exists(_) | GenError::Io { .. } => self,
            other => GenError::InFile { file: file.to_string(), source: Box::new(other) },
        }
    }
}
