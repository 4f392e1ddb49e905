//! The command line, from the outside: the real `virtstrap` and
//! `virtstrap-host` executables run as processes in temporary directories,
//! through the one harness in [`util`].
//!
//! - [`butane`]: `virtstrap butane` and `butane` argv[0] mode;
//! - [`completions`]: `virtstrap completions` and `virtstrap man`;
//! - [`init_validate`]: `virtstrap init` and `virtstrap validate`;
//! - [`doctor`]: `virtstrap doctor` and the refusals of plan and apply;
//! - [`host`]: the hand-over of libvirt commands to `virtstrap-host`;
//! - [`image`]: `virtstrap image pull`'s flags and refusals;
//! - [`reset`]: `virtstrap reset` refusals and confirmation.

mod butane;
mod completions;
mod doctor;
mod host;
mod image;
mod init_validate;
mod reset;
mod util;
