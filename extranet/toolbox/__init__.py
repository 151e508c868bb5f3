"""The document toolbox ("boîte à outils"): guides, templates, studies and
minutes shared by the network, with their versions."""
