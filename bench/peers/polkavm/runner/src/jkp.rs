//! jark's program file (docs/program-format.md), as `jark cc` writes it:
//!
//!   "JKPVM\0" ‖ version (1) ‖ E(n) ‖ n × (E(|name|) ‖ name ‖ E(pc)) ‖ E(|core|) ‖ core
//!
//! where E is the Graypaper's variable-length natural and core a standard
//! program (Graypaper A.7): E3(|o|) ‖ E3(|w|) ‖ E2(z) ‖ E3(s) ‖ o ‖ w ‖ E4(|c|) ‖ c.
//! Only what the runner needs is kept: the sections and the entry points' pcs.

pub struct StdProgram {
    pub ro_data: Vec<u8>,
    pub rw_data: Vec<u8>,
    pub heap_pages: u32,
    pub stack_size: u32,
    pub code: Vec<u8>,
    pub entry_pcs: Vec<u32>,
}

/// Graypaper's natural-number decoding: the count of leading one bits of the
/// first byte says how many little-endian bytes follow.
fn natural(bytes: &[u8], pos: &mut usize) -> Result<u64, String> {
    let first = *bytes.get(*pos).ok_or("truncated natural")?;
    let extra = (first.leading_ones() as usize).min(8);
    let tail = bytes.get(*pos + 1..*pos + 1 + extra).ok_or("truncated natural")?;
    let mut rest = 0u64;
    for (i, b) in tail.iter().enumerate() {
        rest |= u64::from(*b) << (8 * i);
    }
    *pos += 1 + extra;
    if extra == 8 {
        return Ok(rest);
    }
    let high = u64::from(first & ((0xffu8 >> extra) >> 1));
    Ok((high << (8 * extra)) | rest)
}

fn le(bytes: &[u8], pos: &mut usize, n: usize) -> Result<u32, String> {
    let s = bytes.get(*pos..*pos + n).ok_or("standard program truncated in its header")?;
    *pos += n;
    Ok(s.iter().rev().fold(0u32, |v, b| (v << 8) | u32::from(*b)))
}

fn take(bytes: &[u8], pos: &mut usize, n: usize, what: &str) -> Result<Vec<u8>, String> {
    let s = bytes.get(*pos..*pos + n).ok_or(format!("truncated in {what}"))?;
    *pos += n;
    Ok(s.to_vec())
}

pub fn parse(bytes: &[u8]) -> Result<StdProgram, String> {
    if bytes.len() < 7 || &bytes[..6] != b"JKPVM\0" {
        return Err("not a jark program file (bad magic)".into());
    }
    if bytes[6] != 1 {
        return Err(format!("unsupported program file version {}", bytes[6]));
    }
    let mut pos = 7;
    let count = natural(bytes, &mut pos)?;
    if count > 256 {
        return Err(format!("{count} endpoints (limit 256)"));
    }
    let mut entry_pcs = Vec::new();
    for _ in 0..count {
        let name_len = natural(bytes, &mut pos)? as usize;
        take(bytes, &mut pos, name_len, "an endpoint name")?;
        let pc = natural(bytes, &mut pos)?;
        entry_pcs.push(u32::try_from(pc).map_err(|_| "endpoint pc too large")?);
    }
    let core_len = natural(bytes, &mut pos)? as usize;
    if bytes.len() - pos != core_len {
        return Err("the core's length does not match the file".into());
    }
    let ro_len = le(bytes, &mut pos, 3)? as usize;
    let rw_len = le(bytes, &mut pos, 3)? as usize;
    let heap_pages = le(bytes, &mut pos, 2)?;
    let stack_size = le(bytes, &mut pos, 3)?;
    let ro_data = take(bytes, &mut pos, ro_len, "read-only data")?;
    let rw_data = take(bytes, &mut pos, rw_len, "read-write data")?;
    let code_len = le(bytes, &mut pos, 4)? as usize;
    let code = take(bytes, &mut pos, code_len, "code")?;
    if pos != bytes.len() {
        return Err("unexpected bytes after the code".into());
    }
    Ok(StdProgram { ro_data, rw_data, heap_pages, stack_size, code, entry_pcs })
}
