# fcgi/: see the files beside this one.
