//! What can go wrong in `derivd cost`, worded for the person who typed the command: each
//! message names the flag, the price-sheet file and key, or the sheet name at fault.

/// Errors from loading a price sheet, checking the workload, or writing the report.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// `--prices NAME` is neither a shipped sheet nor a path to a `.toml` file.
    #[error("--prices {name:?}: no such built-in price sheet (built in: {known}); to load a file, give a path ending in .toml")]
    UnknownSheet { name: String, known: String },

    /// The sheet file could not be read.
    #[error("price sheet {file}: cannot read it: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },

    /// The sheet is not TOML at all.
    #[error("price sheet {file}: not valid TOML: {message}")]
    Toml { file: String, message: String },

    /// A key in the sheet is unknown, missing, or has a bad value.
    #[error("price sheet {file}: key `{key}`: {message}")]
    Sheet {
        file: String,
        key: String,
        message: String,
    },

    /// A flag's value is out of range, or flags that do not go together.
    #[error("{flag}: {message}")]
    InvalidArgument { flag: &'static str, message: String },

    /// Serialising the `--json` report failed.
    #[error("cannot write the JSON report: {0}")]
    Json(#[from] serde_json::Error),
}
