//! The checks the kernel makes when a seccomp filter is installed
//! (`bpf_check_classic` and `seccomp_check_filter`), and how it reads the
//! return values, applied to a compiled program: the unit tests and the
//! fuzz target use them to show that whatever `compile` accepts, the
//! kernel accepts as meant. Only the opcodes the compiler emits are
//! allowed; any other is a compiler bug.

use super::action::MAX_ERRNO;
use super::program::*;
use super::{Filter, FLAG_NEW_LISTENER, FLAG_TSYNC, FLAG_TSYNC_ESRCH, FLAG_WAIT_KILLABLE_RECV};
use crate::sys::Insn;

/// `sizeof(struct seccomp_data)`.
const SECCOMP_DATA_SIZE: u32 = 64;

/// `BPF_CLASS(code) == BPF_RET`.
fn is_ret(code: u16) -> bool {
    code & 0x07 == 0x06
}

/// Why the kernel would refuse `filter` (seccomp(2) failing with EINVAL),
/// or read one of its return values otherwise than the profile meant.
pub(crate) fn kernel_refusal(filter: &Filter) -> Option<String> {
    let program = &filter.program;
    let len = program.len();
    if len == 0 || len > MAX_INSNS {
        return Some(format!("{len} instructions"));
    }
    for (pc, Insn { code, jt, jf, k }) in program.iter().copied().enumerate() {
        let left = len - pc - 1;
        let problem = match code {
            BPF_LD_W_ABS if k % 4 != 0 || k >= SECCOMP_DATA_SIZE => {
                Some("a load outside seccomp_data")
            }
            BPF_LD_W_ABS | BPF_ALU_AND_K => None,
            BPF_JMP_JA if k as usize >= left => Some("a jump past the end"),
            BPF_JMP_JA => None,
            BPF_JMP_JEQ_K | BPF_JMP_JGT_K | BPF_JMP_JGE_K
                if usize::from(jt) >= left || usize::from(jf) >= left =>
            {
                Some("a conditional jump past the end")
            }
            BPF_JMP_JEQ_K | BPF_JMP_JGT_K | BPF_JMP_JGE_K => None,
            BPF_RET_K => ret_problem(k),
            _ => Some("an opcode the compiler does not emit"),
        };
        if let Some(p) = problem {
            return Some(format!("{p} at {pc}: {code:#x} {jt} {jf} {k:#x}"));
        }
    }
    if !is_ret(program[len - 1].code) {
        return Some("a program that does not end with a return".into());
    }
    let f = filter.flags;
    if f & FLAG_WAIT_KILLABLE_RECV != 0 && f & FLAG_NEW_LISTENER == 0 {
        return Some("WAIT_KILLABLE_RECV without NEW_LISTENER".into());
    }
    if f & FLAG_TSYNC != 0 && f & FLAG_NEW_LISTENER != 0 && f & FLAG_TSYNC_ESRCH == 0 {
        return Some("TSYNC and NEW_LISTENER without TSYNC_ESRCH".into());
    }
    if filter.notify != (f & FLAG_NEW_LISTENER != 0) {
        return Some("a listener flag that does not match the notify rules".into());
    }
    None
}

/// A return value the kernel would misread: an unknown action (run as
/// KILL_PROCESS), an errno above `MAX_ERRNO` (capped), data on an action
/// that takes none.
fn ret_problem(k: u32) -> Option<&'static str> {
    let (action, data) = (k & 0xffff_0000, k & 0xffff);
    match action {
        RET_ERRNO if data > MAX_ERRNO => Some("an errno the kernel caps"),
        RET_ERRNO | RET_TRACE => None,
        RET_KILL_PROCESS | RET_KILL_THREAD | RET_TRAP | RET_USER_NOTIF | RET_LOG | RET_ALLOW
            if data == 0 =>
        {
            None
        }
        _ => Some("an unknown action or data on an action without any"),
    }
}
