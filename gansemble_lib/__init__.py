"""GANsemble compendium library."""
