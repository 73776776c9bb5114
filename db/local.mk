# db/: see the files beside this one.
