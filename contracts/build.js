// Compiles EIP3009Token.sol with solc-js into EIP3009Token.json (ABI, bytecode, compiler
// version, source sha256). Node and the `solc` npm package are needed only to rebuild; the
// test suite reads the committed JSON. See README.md in this folder.
//
//   mkdir -p /tmp/solc && (cd /tmp/solc && npm init -y >/dev/null && npm install solc@0.8.37)
//   NODE_PATH=/tmp/solc/node_modules node contracts/build.js
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const CONTRACT = "EIP3009Token";
const here = __dirname;
const sourceFile = `${CONTRACT}.sol`;
const source = fs.readFileSync(path.join(here, sourceFile), "utf8");

// py-evm (eth-tester) runs up to Prague; cancun keeps the bytecode deployable on the public
// testnets too. Everything that affects the bytecode is recorded in the artifact.
const settings = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
};

const input = { language: "Solidity", sources: { [sourceFile]: { content: source } }, settings };
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) {
  process.stderr.write(`${e.formattedMessage}\n`);
}
if (errors.length > 0) {
  process.exit(1);
}

const compiled = output.contracts[sourceFile][CONTRACT];
const artifact = {
  contractName: CONTRACT,
  sourcePath: `contracts/${sourceFile}`,
  sourceSha256: crypto.createHash("sha256").update(source, "utf8").digest("hex"),
  compiler: { name: "solc-js", version: solc.version(), settings: { evmVersion: settings.evmVersion, optimizer: settings.optimizer } },
  abi: compiled.abi,
  bytecode: `0x${compiled.evm.bytecode.object}`,
  deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
};
const out = path.join(here, `${CONTRACT}.json`);
fs.writeFileSync(out, `${JSON.stringify(artifact, null, 2)}\n`);
process.stdout.write(
  `wrote ${out}: solc ${artifact.compiler.version}, ${(artifact.bytecode.length - 2) / 2} bytes of init code\n`,
);
