//! Parent resolution for differencing disks (to be written).
