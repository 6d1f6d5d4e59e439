// HearthFormats module
