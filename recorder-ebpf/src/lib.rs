//! Empty: the programs are in the binary target.
#![no_std]
