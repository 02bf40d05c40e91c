//! Integration tests: the real `imgctl` binary run in a controlled environment.

mod support;

mod validate;
