// The wrk script of the rotation rows: each request carries the next cookie of a file (one per
// line), in turn. Used by the bench's load generator and by bench/profile.ts --rotation.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROTATE_LUA = `
local cookies = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do cookies[#cookies + 1] = line end
end
function request()
  i = i % #cookies + 1
  return wrk.format(nil, nil, { Cookie = cookies[i] })
end
`;

/** Writes the script into `dir` and returns its path. */
export function writeRotationScript(dir: string): string {
  const script = join(dir, 'rotate.lua');
  writeFileSync(script, ROTATE_LUA);
  return script;
}
