//! The API over real HTTP, served by the local server's code on a free port.

mod accept;
mod add;
mod list;
mod protocol;
mod remove;
mod story;
