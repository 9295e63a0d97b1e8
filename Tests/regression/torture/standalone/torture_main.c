/* The torture harness as a bare C executable (see lp_torture.h). */
#include "../include/lp_torture.h"

int main(int argc, char **argv) { return lp_torture_main(argc, argv); }
