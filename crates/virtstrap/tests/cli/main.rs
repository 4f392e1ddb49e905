//! The command line, from the outside: the real `virtstrap` executable
//! runs as a process in a temporary directory, through the one harness in
//! [`util`].
//!
//! - [`butane`]: `virtstrap butane` and `butane` argv[0] mode;
//! - [`init_validate`]: `virtstrap init` and `virtstrap validate`.

mod butane;
mod init_validate;
mod util;
