/* main.c — the `jark` command line: dispatches to tools/cmd_*.c. */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_usage(FILE *to)
{
    fputs("usage: jark <command> [args]    (exit status: 0 ok, 1 the guest or chain said no, 2 usage or input)\n"
          "  pvm test PATH...                 run PVM JSON test vectors (files or directories)\n"
          "  pvm run FILE.pvm [--gas N] [--reg I=V]...\n"
          "                                   run a program blob; print status, pc, registers, gas\n"
          "  pvm exec PROGRAM [--entry NAME] [--gas N] [--arg N]... [--map FILE.map]\n"
          "                                   run one entry point of a program file on the bare PVM\n"
          "  asm FILE.s -o FILE.pvm           assemble PVM assembly (docs/asm.md)\n"
          "  disasm FILE.pvm                  disassemble a program blob\n"
          "  cc [-O0|-O2|-Os] [-DNAME[=V]]... [-IDIR]... FILE.c... -o PROGRAM [--map FILE.map]\n"
          "                                   compile C with the SDK into a program file (sdk/README.md)\n"
          "  link ELF -o PROGRAM              translate a linked RV64EM ELF into a program file\n"
          "  image build MANIFEST.json -o IMAGE\n"
          "                                   build an image file from a program and a manifest (docs/image-format.md)\n"
          "  image run IMAGE --endpoint N|NAME --gas G [--arg N]... [--slot0 FILE] [--map FILE.map]\n"
          "                                   run one call on a fresh instance; the outcome line on stderr\n"
          "  image show IMAGE                 print an image file's endpoints, mappings, pins and state\n"
          "  chain genesis SPEC.json [-O..] [-D..] [-I..]\n"
          "                                   build a chain's genesis from its spec (docs/chain-spec.md)\n"
          "  chain show --store DIR [--slot PATH] [--hex] [--accounts N]\n"
          "                                   a validator store's head and state slots, for any chain\n"
          "  chain new NAME                   write a minimal working chain into NAME/ (docs/tutorial.md)\n"
          "  keygen -o FILE                   make an Ed25519 key file (docs/keys.md)\n"
          "  event sign (--spec SPEC|--genesis HASH) [--key K] --endpoint transact|dispatch:K --blob FILE\n"
          "             [--attest KEY:MSG]... -o EVENTS [--append]\n"
          "                                   sign an event into an events file (docs/events-format.md)\n"
          "  event transfer|report ...        the demo chain's events; event show EVENTS lists a file\n"
          "  event submit EVENTS [--rpc HOST:PORT]  each event to a node's submit_event (docs/events-format.md)\n"
          "  devnet [--spec SPEC] [--events FILE] [--workload demo|events|none] [--validator-key K]...\n"
          "         [--validators V] [--blocks N] [--events-per-block E] [--seed S] [--dir DIR] [--threads T]\n"
          "                                   run V validators of a chain in one process (README.md)\n"
          "  rpc [--rpc HOST:PORT] METHOD [ARGS] call a node's JSON-RPC server (docs/rpc.md)\n"
          "  node --spec SPEC --key FILE --dir DIR --listen HOST:PORT [--peer HOST:PORT]... [--rpc HOST:PORT]\n"
          "                                   run one validator on the network (docs/node.md)\n"
          "  testnet [--validators V] [--blocks N] [--dir DIR] [--perturb kill:I@H,restart:I@H,...]\n"
          "                                   V `jark node` processes on 127.0.0.1 (docs/node.md)\n",
          to);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        jk_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "pvm"))
        return jk_tool_pvm(argc - 2, argv + 2);
    if (!strcmp(cmd, "asm"))
        return jk_tool_asm(argc - 2, argv + 2);
    if (!strcmp(cmd, "disasm"))
        return jk_tool_disasm(argc - 2, argv + 2);
    if (!strcmp(cmd, "link"))
        return jk_tool_link(argc - 2, argv + 2);
    if (!strcmp(cmd, "cc"))
        return jk_tool_cc(argc - 2, argv + 2);
    if (!strcmp(cmd, "chain") && argc > 2 && !strcmp(argv[2], "new"))
        return jk_tool_chain_new(argc - 3, argv + 3);
    if (!strcmp(cmd, "chain"))
        return jk_tool_chain(argc - 2, argv + 2);
    if (!strcmp(cmd, "devnet"))
        return jk_tool_devnet(argc - 2, argv + 2);
    if (!strcmp(cmd, "keygen"))
        return jk_tool_keygen(argc - 2, argv + 2);
    if (!strcmp(cmd, "event"))
        return jk_tool_event(argc - 2, argv + 2);
    if (!strcmp(cmd, "image"))
        return jk_tool_image(argc - 2, argv + 2);
    if (!strcmp(cmd, "rpc")) return jk_tool_rpc(argc - 2, argv + 2);   /* docs/rpc.md */
    if (!strcmp(cmd, "node")) return jk_tool_node(argc - 2, argv + 2);         /* docs/node.md */
    if (!strcmp(cmd, "testnet")) return jk_tool_testnet(argc - 2, argv + 2);   /* docs/node.md */
    fprintf(stderr, "jark: unknown command '%s'\n", cmd);
    jk_usage(stderr);
    return 2;
}
