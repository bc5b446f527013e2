import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Abi, Hex } from 'viem';

/**
 * The contracts a simulated chain needs besides Uniswap's own (whose compiled artifacts ship in
 * `@uniswap/v2-core` and `@uniswap/v3-core`): an ERC20 with any decimals, and a driver that holds
 * tokens and pays the pools' callbacks (a v3 pool mints and swaps only for a contract that pays
 * in its callback). Test code: anyone may call the driver, which pays from its own balance.
 */
const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract TestToken {
    string public name;
    string public symbol;
    uint8 public decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    function mint(address to, uint256 value) external {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "allowance");
            allowance[from][msg.sender] = allowed - value;
        }
        move(from, to, value);
        return true;
    }

    function move(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

interface IPair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112, uint112, uint32);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
    function mint(address to) external returns (uint256);
    function burn(address to) external returns (uint256, uint256);
    function transfer(address to, uint256 value) external returns (bool);
}

interface IPool {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data) external returns (uint256, uint256);
    function burn(int24 tickLower, int24 tickUpper, uint128 amount) external returns (uint256, uint256);
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96, bytes calldata data)
        external returns (int256, int256);
}

contract PoolDriver {
    function v2Mint(address pair, uint256 amount0, uint256 amount1) external {
        TestToken(IPair(pair).token0()).transfer(pair, amount0);
        TestToken(IPair(pair).token1()).transfer(pair, amount1);
        IPair(pair).mint(address(this));
    }

    function v2Burn(address pair, uint256 liquidity) external {
        IPair(pair).transfer(pair, liquidity);
        IPair(pair).burn(address(this));
    }

    /// Sells amountIn of token0 (zeroForOne) or token1 for as much of the other as the pair gives.
    function v2Swap(address pair, bool zeroForOne, uint256 amountIn) external {
        (uint112 r0, uint112 r1, ) = IPair(pair).getReserves();
        (uint256 rIn, uint256 rOut) = zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        uint256 out = (amountIn * 997 * rOut) / (rIn * 1000 + amountIn * 997);
        TestToken(zeroForOne ? IPair(pair).token0() : IPair(pair).token1()).transfer(pair, amountIn);
        IPair(pair).swap(zeroForOne ? 0 : out, zeroForOne ? out : 0, address(this), "");
    }

    function v3Mint(address pool, int24 tickLower, int24 tickUpper, uint128 amount) external {
        IPool(pool).mint(address(this), tickLower, tickUpper, amount, "");
    }

    function v3Burn(address pool, int24 tickLower, int24 tickUpper, uint128 amount) external {
        IPool(pool).burn(tickLower, tickUpper, amount);
    }

    /// What the pool took (positive) and gave (negative); with a price limit, as an eth_call, it tells what moving the price there costs.
    function v3Swap(address pool, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96) external returns (int256, int256) {
        return IPool(pool).swap(address(this), zeroForOne, amountSpecified, sqrtPriceLimitX96, "");
    }

    function uniswapV3MintCallback(uint256 amount0, uint256 amount1, bytes calldata) external {
        pay(msg.sender, amount0, amount1);
    }

    function uniswapV3SwapCallback(int256 amount0, int256 amount1, bytes calldata) external {
        pay(msg.sender, amount0 > 0 ? uint256(amount0) : 0, amount1 > 0 ? uint256(amount1) : 0);
    }

    function pay(address pool, uint256 amount0, uint256 amount1) internal {
        if (amount0 > 0) TestToken(IPool(pool).token0()).transfer(pool, amount0);
        if (amount1 > 0) TestToken(IPool(pool).token1()).transfer(pool, amount1);
    }
}
`;

/** A compiled contract: what viem deploys and calls. */
export interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

export interface SimulatorArtifacts {
  testToken: Artifact;
  poolDriver: Artifact;
  v2Factory: Artifact;
  v2Pair: Artifact;
  v3Factory: Artifact;
  v3Pool: Artifact;
}

const require = createRequire(import.meta.url);

function loadPackage<T>(id: string): T {
  try {
    return require(id) as T;
  } catch {
    throw new Error(`cannot load ${id}: the chain simulator needs the dev dependencies (solc, @uniswap/v2-core, @uniswap/v3-core); run npm install`);
  }
}

interface SolcOutput {
  errors?: Array<{ severity: string; formattedMessage: string }>;
  contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
}

/**
 * Compiles SOURCE with solc-js (a few seconds), once per source and compiler version: the result is
 * kept in the temp folder, so later runs and parallel test files read it instead.
 */
function compileOwn(): { testToken: Artifact; poolDriver: Artifact } {
  const solc = loadPackage<{ version(): string; compile(input: string): string }>('solc');
  const hash = createHash('sha256').update(solc.version()).update(SOURCE).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'quoting-collector-solc');
  const file = join(dir, `${hash}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { testToken: Artifact; poolDriver: Artifact };
  } catch {
    // not compiled yet
  }
  const input = {
    language: 'Solidity',
    sources: { 'Simulator.sol': { content: SOURCE } },
    settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`the simulator's contracts do not compile: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const of = (name: string): Artifact => {
    const c = output.contracts['Simulator.sol']![name]!;
    return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  };
  const compiled = { testToken: of('TestToken'), poolDriver: of('PoolDriver') };
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(compiled));
  renameSync(partial, file);
  return compiled;
}

let cached: SimulatorArtifacts | undefined;

/** Every contract the chain simulator deploys. */
export function simulatorArtifacts(): SimulatorArtifacts {
  if (cached) return cached;
  const v2 = (name: string): Artifact => {
    const j = loadPackage<{ abi: Abi; bytecode: string }>(`@uniswap/v2-core/build/${name}.json`);
    return { abi: j.abi, bytecode: (j.bytecode.startsWith('0x') ? j.bytecode : `0x${j.bytecode}`) as Hex };
  };
  const v3 = (name: string): Artifact => {
    const j = loadPackage<{ abi: Abi; bytecode: Hex }>(`@uniswap/v3-core/artifacts/contracts/${name}.sol/${name}.json`);
    return { abi: j.abi, bytecode: j.bytecode };
  };
  cached = { ...compileOwn(), v2Factory: v2('UniswapV2Factory'), v2Pair: v2('UniswapV2Pair'), v3Factory: v3('UniswapV3Factory'), v3Pool: v3('UniswapV3Pool') };
  return cached;
}
