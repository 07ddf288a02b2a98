"""Data: observation datasets, collection, video I/O and augmentation."""
