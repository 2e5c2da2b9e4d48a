//! A folder of source images indexed as AIPerf 0.13's `ImageGenerator` indexes
//! `--image-source DIR`: `sorted(glob(DIR/*))` (hidden names skipped, as glob does), kept when the
//! name's suffix is one Pillow registers, so the n-th image is AIPerf's n-th and a seeded draw
//! picks the same file.

use std::path::{Path, PathBuf};

use anyhow::bail;

/// `{ext.lower() for ext in PIL.Image.registered_extensions()}` in AIPerf 0.13's venv (Pillow 12.3).
pub const PILLOW_EXTENSIONS: &[&str] = &[
    ".apng", ".avif", ".avifs", ".blp", ".bmp", ".bufr", ".bw", ".cur", ".dcx", ".dds", ".dib", ".emf",
    ".eps", ".fit", ".fits", ".flc", ".fli", ".ftc", ".ftu", ".gbr", ".gif", ".grib", ".h5", ".hdf", ".icb",
    ".icns", ".ico", ".iim", ".im", ".j2c", ".j2k", ".jfif", ".jp2", ".jpc", ".jpe", ".jpeg", ".jpf", ".jpg",
    ".jpx", ".mpeg", ".mpg", ".mpo", ".msp", ".palm", ".pbm", ".pcd", ".pcx", ".pdf", ".pfm", ".pgm", ".png",
    ".pnm", ".ppm", ".ps", ".psd", ".pxr", ".qoi", ".ras", ".rgb", ".rgba", ".sgi", ".tga", ".tif", ".tiff",
    ".vda", ".vst", ".webp", ".wmf", ".xbm", ".xpm",
];

/// Python's `PurePath.suffix`: from the last dot, unless the name starts or ends with it.
fn suffix(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if i > 0 && i < name.len() - 1 => &name[i..],
        _ => "",
    }
}

/// The folder's candidate images in AIPerf's order; an error naming `--image-source` when the
/// folder is missing, not a folder, or holds no file with an image suffix.
pub fn index(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let shown = dir.display();
    if !dir.exists() {
        bail!("--image-source {shown}: no such folder; give noise, assets or a folder of images");
    }
    if !dir.is_dir() {
        bail!("--image-source {shown}: not a folder; give a folder of images (or noise, assets)");
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("--image-source {shown}: cannot list it: {e}"))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .filter(|n| PILLOW_EXTENSIONS.contains(&suffix(n).to_lowercase().as_str()))
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("--image-source {shown}: no source images in the folder (no .png, .jpg or other image file); add some or give another folder");
    }
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_pythons() {
        assert_eq!(suffix("a.tar.PNG"), ".PNG");
        assert_eq!(suffix(".png"), "");
        assert_eq!(suffix("a."), "");
        assert_eq!(suffix("png"), "");
    }

    /// Sorted, image suffixes in any case only, hidden names skipped; an empty or missing folder
    /// is an error naming the flag.
    #[test]
    fn a_folder_is_indexed_as_aiperf_does() {
        let d = tempfile::tempdir().unwrap();
        for n in ["b.JPG", "a.png", "notes.txt", ".hidden.png", "c.webp", "Z.jpeg"] {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        let got: Vec<String> = index(d.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["Z.jpeg", "a.png", "b.JPG", "c.webp"]);
        let empty = tempfile::tempdir().unwrap();
        std::fs::write(empty.path().join("readme.md"), b"x").unwrap();
        let e = index(empty.path()).unwrap_err().to_string();
        assert!(
            e.starts_with("--image-source ") && e.contains("no source images"),
            "{e}"
        );
        let e = index(&d.path().join("missing")).unwrap_err().to_string();
        assert!(e.contains("no such folder"), "{e}");
        let e = index(&d.path().join("a.png")).unwrap_err().to_string();
        assert!(e.contains("not a folder"), "{e}");
    }
}
