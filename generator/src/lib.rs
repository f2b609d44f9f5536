//! vhd-generator
