/* facefleet/exit.h: the exit status of every facefleet program (fleet-device,
 * fleet-backend, fleetctl, fleet-eval, fleet-bench, the test tools), one
 * convention documented in docs/CONTRIBUTING.md:
 *   0   done (for a service: stopped cleanly on SIGTERM/SIGINT)
 *   1   failed at run time: a file, the network, the database, a model
 *   2   usage: bad command line or configuration (nothing was done)
 *   77  a test tool skipped: what it needs is missing (CTest's skip code) */
#ifndef FACEFLEET_EXIT_H
#define FACEFLEET_EXIT_H

enum ff_exit {
	FF_EXIT_OK = 0,
	FF_EXIT_FAIL = 1,
	FF_EXIT_USAGE = 2,
	FF_EXIT_SKIP = 77,
};

#endif
