module libprofile.invalid/go/libprofile

go 1.19
