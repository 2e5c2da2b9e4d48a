//! The finite pool behind `--image-source assets|DIR`, sampled as AIPerf 0.13's `ImageGenerator`
//! samples it (`_next_source_image_path`): `random-with-replacement` is Python's
//! `random.choice` over the images still readable, `shuffle-cycle` pops from the end of a list
//! NumPy's `shuffle` ordered, `sequential-cycle` walks the sorted list; both streams are
//! AIPerf's `dataset.image.source`. A file that is not an image is retired and the draw goes on,
//! as AIPerf's `_retire_unreadable_source_image` does, so the same seed picks the same files.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use image::RgbImage;

use crate::contract::media::{ImageSource, SourceSampling};
use crate::io::media::image_folder;
use crate::io::media::source_image::{decode, resized, Unreadable};
use crate::loadgen::py_random::{child_seed, PyRandom};
use crate::stats::numpy_random::Pcg64;

/// AIPerf's bundled `assets/source_images`, in its sorted order (CC0, the Getty's Open Content
/// Program: `lib/loadgen/assets/source_images/ATTRIBUTION.md`).
const ASSETS: [(&str, &[u8]); 4] = [
    (
        "0bfd8fdf-457f-43c8-9253-a2346d37d26a_1024.jpg",
        include_bytes!("../assets/source_images/0bfd8fdf-457f-43c8-9253-a2346d37d26a_1024.jpg"),
    ),
    (
        "119544eb-9bbf-47d1-8d93-a51de6370295_861.jpg",
        include_bytes!("../assets/source_images/119544eb-9bbf-47d1-8d93-a51de6370295_861.jpg"),
    ),
    (
        "1ba066e0-7291-4ef4-8a6e-e8724af7f046_865.jpg",
        include_bytes!("../assets/source_images/1ba066e0-7291-4ef4-8a6e-e8724af7f046_865.jpg"),
    ),
    (
        "c946f826-4a9a-4ca2-b891-9f791d38092b_1024.jpg",
        include_bytes!("../assets/source_images/c946f826-4a9a-4ca2-b891-9f791d38092b_1024.jpg"),
    ),
];

/// Decoded images kept for reuse up to this many bytes of pixels; beyond, a file is decoded
/// again each time it is drawn (a folder of large photos must not fill the memory).
const CACHE_BYTES: usize = 256 << 20;

/// One image of the pool.
enum Entry {
    File(PathBuf),
    Bundled(&'static str, &'static [u8]),
}

/// The pool and its sampling state.
pub struct SourcePool {
    /// How errors name the source: `--image-source DIR` or `--image-source assets`.
    label: String,
    entries: Vec<Entry>,
    sampling: SourceSampling,
    /// The readable images' indexes, in load order (`_available_source_image_indexes`).
    available: Vec<usize>,
    /// The current shuffled cycle, drawn from its end.
    cycle: Vec<usize>,
    /// The next index of the sequential walk.
    next: usize,
    choice: PyRandom,
    shuffle: Pcg64,
    cache: HashMap<usize, Arc<RgbImage>>,
    cached_bytes: usize,
    /// The files retired as unreadable, with why.
    pub skipped: Vec<String>,
}

impl SourcePool {
    /// The pool of a finite source (None for noise), on AIPerf's `dataset.image.source` stream.
    pub fn new(
        source: &ImageSource,
        sampling: SourceSampling,
        seed: u64,
    ) -> anyhow::Result<Option<SourcePool>> {
        let (label, entries) = match source {
            ImageSource::Noise => return Ok(None),
            ImageSource::Assets => (
                "--image-source assets".to_string(),
                ASSETS.iter().map(|&(n, b)| Entry::Bundled(n, b)).collect(),
            ),
            ImageSource::Folder(dir) => (
                format!("--image-source {}", dir.display()),
                image_folder::index(dir)?
                    .into_iter()
                    .map(Entry::File)
                    .collect::<Vec<_>>(),
            ),
        };
        let stream = child_seed(seed, "dataset.image.source");
        Ok(Some(SourcePool {
            label,
            available: (0..entries.len()).collect(),
            entries,
            sampling,
            cycle: Vec::new(),
            next: 0,
            choice: PyRandom::new(stream),
            shuffle: Pcg64::new(stream),
            cache: HashMap::new(),
            cached_bytes: 0,
            skipped: Vec::new(),
        }))
    }

    /// The next source image resized to `width x height` (RGB bytes): AIPerf's
    /// `_create_from_source_images`, retiring files that are not images until one reads.
    pub fn next_image(&mut self, width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
        while !self.available.is_empty() {
            let index = self.next_index();
            match self.load(index) {
                Ok(img) => return Ok(resized(&img, width, height)),
                Err(Unreadable::OtherFormat(f)) => bail!(
                    "{}: {} is a {f} image; sweepkit decodes PNG and JPEG only: convert it or move it out of the folder",
                    self.label,
                    self.name(index)
                ),
                Err(Unreadable::NotAnImage(why)) => self.retire(index, why),
            }
        }
        bail!(
            "{}: no readable source images (every image file failed to decode: {}); give a folder of PNG or JPEG images",
            self.label,
            self.skipped.join("; ")
        )
    }

    /// AIPerf's `_next_source_image_path`.
    fn next_index(&mut self) -> usize {
        match self.sampling {
            SourceSampling::RandomWithReplacement => {
                self.available[self.choice.randbelow(self.available.len() as u32) as usize]
            }
            SourceSampling::ShuffleCycle => {
                if self.cycle.is_empty() {
                    self.cycle = self.available.clone();
                    self.shuffle.shuffle(&mut self.cycle);
                }
                self.cycle
                    .pop()
                    .expect("a refilled cycle holds the available images")
            }
            SourceSampling::SequentialCycle => loop {
                let index = self.next;
                self.next = (self.next + 1) % self.entries.len();
                if self.available.contains(&index) {
                    return index;
                }
            },
        }
    }

    fn name(&self, index: usize) -> String {
        match &self.entries[index] {
            Entry::File(p) => p.display().to_string(),
            Entry::Bundled(n, _) => (*n).to_string(),
        }
    }

    /// The image's pixels, decoded once while the cache has room.
    fn load(&mut self, index: usize) -> Result<Arc<RgbImage>, Unreadable> {
        if let Some(img) = self.cache.get(&index) {
            return Ok(img.clone());
        }
        let img = Arc::new(match &self.entries[index] {
            Entry::File(p) => decode(&std::fs::read(p).map_err(|e| Unreadable::NotAnImage(e.to_string()))?)?,
            Entry::Bundled(_, bytes) => decode(bytes)?,
        });
        if self.cached_bytes + img.as_raw().len() <= CACHE_BYTES {
            self.cached_bytes += img.as_raw().len();
            self.cache.insert(index, img.clone());
        }
        Ok(img)
    }

    /// AIPerf's `_retire_unreadable_source_image`: out of the pool and of the current cycle.
    fn retire(&mut self, index: usize, why: String) {
        self.skipped.push(format!("{} ({why})", self.name(index)));
        self.available.retain(|&i| i != index);
        self.cycle.retain(|&i| i != index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled assets decode, at AIPerf's sizes (Pillow: 1024x613, 861x1024, 865x1025,
    /// 1024x805).
    #[test]
    fn the_assets_are_aiperfs_four_images() {
        let mut pool = SourcePool::new(&ImageSource::Assets, SourceSampling::SequentialCycle, 1)
            .unwrap()
            .unwrap();
        let sizes: Vec<(u32, u32)> = (0..4).map(|i| pool.load(i).unwrap().dimensions()).collect();
        assert_eq!(sizes, [(1024, 613), (861, 1024), (865, 1025), (1024, 805)]);
        assert_eq!(pool.next_image(5, 7).unwrap().len(), 5 * 7 * 3);
    }

    fn order(sampling: SourceSampling, seed: u64, n: usize) -> Vec<usize> {
        let mut pool = SourcePool::new(&ImageSource::Assets, sampling, seed)
            .unwrap()
            .unwrap();
        (0..n).map(|_| pool.next_index()).collect()
    }

    /// AIPerf 0.13 with `rng.init(7)`, an `ImageGenerator` on `assets` (4 images): the indexes
    /// `_next_source_image_path` returned for 10 images under each sampling.
    #[test]
    fn the_choice_sequences_are_aiperfs() {
        assert_eq!(
            order(SourceSampling::RandomWithReplacement, 7, 10),
            AIPERF_RANDOM_SEED_7
        );
        assert_eq!(order(SourceSampling::ShuffleCycle, 7, 10), AIPERF_SHUFFLE_SEED_7);
        assert_eq!(
            order(SourceSampling::SequentialCycle, 7, 10),
            [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
        );
    }

    const AIPERF_RANDOM_SEED_7: [usize; 10] = [3, 2, 3, 1, 1, 2, 1, 1, 2, 2];
    const AIPERF_SHUFFLE_SEED_7: [usize; 10] = [0, 2, 1, 3, 2, 3, 0, 1, 1, 3];
}
