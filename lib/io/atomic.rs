//! Atomic file output: write beside the target, then rename over it, so a reader (or a crash)
//! never sees half a summary. A symlink is written through (its target is replaced, the link
//! stays); anything that is neither a regular file nor a new path (a device, a folder, a pipe) is
//! refused, since a rename would replace the node itself.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file a write to `path` lands in: `path` itself, or the end of its chain of symlinks.
fn resolve(path: &Path) -> anyhow::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&p)
                    .map_err(|e| anyhow::anyhow!("{}: cannot read the symlink: {e}", p.display()))?;
                p = p.parent().map_or(to.clone(), |d| d.join(&to));
            }
            Ok(m) if m.is_file() => return Ok(p),
            Ok(_) => anyhow::bail!(
                "{}: not a regular file{}: give the path of a file to write",
                path.display(),
                if p == path {
                    String::new()
                } else {
                    format!(" (the symlink leads to {})", p.display())
                }
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(e) => anyhow::bail!("{}: cannot write: {e}", path.display()),
        }
    }
    anyhow::bail!("{}: too many levels of symlinks", path.display())
}

/// Writes `path` atomically with whatever `fill` writes; creates missing parent folders.
pub fn write_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> anyhow::Result<()> {
    let target = resolve(path)?;
    write_resolved(path, &target, fill)
}

fn write_resolved(
    shown: &Path,
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("{}: cannot create folder: {e}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| -> io::Result<()> {
        let mut out = BufWriter::new(File::create(&tmp)?);
        fill(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        anyhow::bail!("{}: cannot write: {e}", shown.display());
    }
    Ok(())
}

/// Writes bytes to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Writes `value` as pretty JSON (with a final newline) to `path` atomically.
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> anyhow::Result<()> {
    write_with(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(io::Error::from)?;
        w.write_all(b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.json");
        write(&p, b"first version, long").unwrap();
        write(&p, b"second").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "second");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn writes_through_a_symlink_and_refuses_what_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.html");
        fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.html");
        std::os::unix::fs::symlink("real.html", &link).unwrap();
        write(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        // A dangling link: its target is created.
        let dangling = dir.path().join("d.json");
        std::os::unix::fs::symlink("sub/made.json", &dangling).unwrap();
        write(&dangling, b"x").unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("sub/made.json")).unwrap(), "x");
        let err = write(dir.path(), b"x").unwrap_err().to_string();
        assert!(
            err.ends_with(": not a regular file: give the path of a file to write"),
            "{err}"
        );
        // A pipe stands for every node that is not a file (a device too: as root, a rename would
        // replace /dev/full itself); the test never touches a real device.
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = write(&fifo, b"x").unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: not a regular file: give the path of a file to write",
                fifo.display()
            )
        );
        let to_fifo = dir.path().join("to_fifo");
        std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
        let err = write(&to_fifo, b"x").unwrap_err().to_string();
        assert!(err.contains("not a regular file (the symlink leads to "), "{err}");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn failed_fill_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write(&p, b"old").unwrap();
        let err = write_with(&p, |_| Err(io::Error::other("boom"))).unwrap_err();
        assert!(err.to_string().contains("out.txt: cannot write: boom"));
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
    }
}
