//! The corpus manifest schema (`manifest.json`) and corpus verification (to be written).
