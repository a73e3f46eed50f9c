#include <stdio.h>
int main (void) { puts ("ovscan: not built yet"); return 2; }
