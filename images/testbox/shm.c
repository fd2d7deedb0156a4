/* shm: a SysV shared-memory probe for the test image (busybox has no ipcmk).
 *   shm put KEY TEXT   create segment KEY and write TEXT into it
 *   shm get KEY        print the text of segment KEY (exit 1 if absent)
 * Used to prove that a pod's containers share one IPC namespace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: shm put KEY TEXT | shm get KEY\n");
    return 2;
  }
  key_t key = (key_t)strtol(argv[2], NULL, 0);
  int put = strcmp(argv[1], "put") == 0;
  int id = shmget(key, 4096, put ? (IPC_CREAT | 0600) : 0);
  if (id < 0) {
    perror("shmget");
    return 1;
  }
  char *mem = shmat(id, NULL, 0);
  if (mem == (char *)-1) {
    perror("shmat");
    return 1;
  }
  if (put) {
    snprintf(mem, 4096, "%s", argc > 3 ? argv[3] : "");
  } else {
    printf("%s\n", mem);
  }
  return 0;
}
