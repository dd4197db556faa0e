"""city311: an open-source 311 platform."""
