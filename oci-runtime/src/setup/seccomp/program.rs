//! Classic BPF for seccomp: the instruction, opcodes, `seccomp_data`
//! offsets, return values, and a small assembler for one rule.

use ocikit_types::runtime::SeccompOperator;

use crate::sys::Insn;

/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
pub(crate) const MAX_INSNS: usize = 4096;

// Classic BPF opcodes (linux/filter.h): class | size/op | mode/source.
pub(super) const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS
pub(super) const BPF_ALU_AND_K: u16 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K (0)
pub(super) const BPF_JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA (0)
pub(super) const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
pub(super) const BPF_JMP_JGT_K: u16 = 0x05 | 0x20;
pub(super) const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
pub(super) const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K (0)

// struct seccomp_data offsets.
pub(super) const OFF_NR: u32 = 0;
pub(super) const OFF_ARCH: u32 = 4;
/// The offsets of the low and high halves of argument `i`: `args` are
/// 64-bit words in the ABI's byte order.
pub(super) const fn off_arg(i: u32, big_endian: bool) -> (u32, u32) {
    let at = 16 + 8 * i;
    if big_endian {
        (at + 4, at)
    } else {
        (at, at + 4)
    }
}

// Return values (linux/seccomp.h).
pub(crate) const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(crate) const RET_KILL_THREAD: u32 = 0x0000_0000;
pub(crate) const RET_TRAP: u32 = 0x0003_0000;
pub(crate) const RET_ERRNO: u32 = 0x0005_0000;
pub(crate) const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub(crate) const RET_TRACE: u32 = 0x7ff0_0000;
pub(crate) const RET_LOG: u32 = 0x7ffc_0000;
pub(crate) const RET_ALLOW: u32 = 0x7fff_0000;

/// A jump target while a block is being built.
#[derive(Clone, Copy)]
pub(super) enum To {
    /// Skip this many instructions.
    Skip(u8),
    /// The end of the block: the rule does not match.
    Fail,
}

/// The instructions of one rule for one syscall; `Fail` jumps are patched
/// to the block's end when it is finished.
pub(super) struct Block {
    insns: Vec<Insn>,
    fails: Vec<(usize, bool)>,
    big_endian: bool,
}

impl Block {
    /// A block for an ABI whose arguments are big-endian or not.
    pub(super) fn new(big_endian: bool) -> Block {
        Block {
            insns: Vec::new(),
            fails: Vec::new(),
            big_endian,
        }
    }

    pub(super) fn stmt(&mut self, code: u16, k: u32) {
        self.insns.push(Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        });
    }

    pub(super) fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        let at = self.insns.len();
        let mut off = |t: To, is_jt: bool| match t {
            To::Skip(n) => n,
            To::Fail => {
                self.fails.push((at, is_jt));
                0
            }
        };
        let (jt, jf) = (off(jt, true), off(jf, false));
        self.insns.push(Insn { code, jt, jf, k });
    }

    /// As [`Block::arg`] on a 32-bit ABI: only the low halves of the
    /// argument, `value` and `valueTwo` are compared, as libseccomp does
    /// (it truncates 64-bit operands without an error, and drops a masked
    /// comparison whose low mask is zero as always true).
    pub(super) fn arg32(&mut self, index: u32, op: &SeccompOperator, value: u64, value_two: u64) {
        let (v, two) = (value as u32, value_two as u32);
        let (lo_off, _) = off_arg(index, self.big_endian);
        let (code, matches) = match op {
            SeccompOperator::Equal => (BPF_JMP_JEQ_K, true),
            SeccompOperator::NotEqual => (BPF_JMP_JEQ_K, false),
            SeccompOperator::GreaterThan => (BPF_JMP_JGT_K, true),
            SeccompOperator::GreaterOrEqual => (BPF_JMP_JGE_K, true),
            // x < v is !(x >= v); x <= v is !(x > v).
            SeccompOperator::LessThan => (BPF_JMP_JGE_K, false),
            SeccompOperator::LessOrEqual => (BPF_JMP_JGT_K, false),
            _ => {
                // MaskedEqual (other operators are refused before this).
                if v != 0 {
                    self.stmt(BPF_LD_W_ABS, lo_off);
                    self.stmt(BPF_ALU_AND_K, v);
                    self.jump(BPF_JMP_JEQ_K, two & v, To::Skip(0), To::Fail);
                }
                return;
            }
        };
        self.stmt(BPF_LD_W_ABS, lo_off);
        if matches {
            self.jump(code, v, To::Skip(0), To::Fail);
        } else {
            self.jump(code, v, To::Fail, To::Skip(0));
        }
    }

    /// Falls through when argument `index` satisfies `op`, jumps to the
    /// block's end otherwise.
    pub(super) fn arg(&mut self, index: u32, op: &SeccompOperator, value: u64, value_two: u64) {
        let (hi, lo) = ((value >> 32) as u32, value as u32);
        let (lo_off, hi_off) = off_arg(index, self.big_endian);
        match op {
            SeccompOperator::Equal => {
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.jump(BPF_JMP_JEQ_K, hi, To::Skip(0), To::Fail);
                self.stmt(BPF_LD_W_ABS, lo_off);
                self.jump(BPF_JMP_JEQ_K, lo, To::Skip(0), To::Fail);
            }
            SeccompOperator::NotEqual => {
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.jump(BPF_JMP_JEQ_K, hi, To::Skip(0), To::Skip(2));
                self.stmt(BPF_LD_W_ABS, lo_off);
                self.jump(BPF_JMP_JEQ_K, lo, To::Fail, To::Skip(0));
            }
            SeccompOperator::GreaterThan | SeccompOperator::GreaterOrEqual => {
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.jump(BPF_JMP_JGT_K, hi, To::Skip(3), To::Skip(0));
                self.jump(BPF_JMP_JEQ_K, hi, To::Skip(0), To::Fail);
                self.stmt(BPF_LD_W_ABS, lo_off);
                let code = if *op == SeccompOperator::GreaterThan {
                    BPF_JMP_JGT_K
                } else {
                    BPF_JMP_JGE_K
                };
                self.jump(code, lo, To::Skip(0), To::Fail);
            }
            SeccompOperator::LessThan | SeccompOperator::LessOrEqual => {
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.jump(BPF_JMP_JGT_K, hi, To::Fail, To::Skip(0));
                self.jump(BPF_JMP_JEQ_K, hi, To::Skip(0), To::Skip(2));
                self.stmt(BPF_LD_W_ABS, lo_off);
                // lo < L is !(lo >= L); lo <= L is !(lo > L).
                let code = if *op == SeccompOperator::LessThan {
                    BPF_JMP_JGE_K
                } else {
                    BPF_JMP_JGT_K
                };
                self.jump(code, lo, To::Fail, To::Skip(0));
            }
            _ => {
                // MaskedEqual (other operators are refused before this).
                let (want_hi, want_lo) = ((value_two >> 32) as u32, value_two as u32);
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.stmt(BPF_ALU_AND_K, hi);
                self.jump(BPF_JMP_JEQ_K, want_hi, To::Skip(0), To::Fail);
                self.stmt(BPF_LD_W_ABS, lo_off);
                self.stmt(BPF_ALU_AND_K, lo);
                self.jump(BPF_JMP_JEQ_K, want_lo, To::Skip(0), To::Fail);
            }
        }
    }

    pub(super) fn finish(mut self, out: &mut Vec<Insn>) {
        let len = self.insns.len();
        for (at, is_jt) in self.fails {
            // Blocks hold one syscall's conditions, at most
            // `MAX_CONDITIONS` (compile refuses more): at most 255
            // instructions, so the offset always fits.
            let off = u8::try_from(len - at - 1).expect("seccomp block fits a jump");
            if is_jt {
                self.insns[at].jt = off;
            } else {
                self.insns[at].jf = off;
            }
        }
        out.append(&mut self.insns);
    }
}
