'use strict';
// sharp's lane of the animated-WebP benchmark (scripts/bench-animation.sh; not run by hand):
//   node animation_sharp.js REPS SIZES FILE...
// Every file to animated WebP at each size: sharp(buf, {animated: true}) (all frames, one
// libvips pipeline per output), fit inside, never enlarged, webp quality 80 and effort 4
// (sharp's defaults, spelled out). One libvips thread, no cache. Prints one JSON line per
// file: {file, frames, ms: [wall, per rep], cpu_ms: [user + system, per rep], bytes: [per
// size]}, as benches/animation.rs does (`frames`: what sharp decodes, 1 for an APNG).
const fs = require('fs');
const sharp = require('sharp');

sharp.concurrency(1);
sharp.cache(false);

const [reps, sizes, ...files] = process.argv.slice(2);
const widths = sizes.split(',').map(Number);

const render = (buf, size) =>
  sharp(buf, { animated: true, limitInputPixels: false })
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80, effort: 4 })
    .toBuffer();

async function main() {
  for (const file of files) {
    const buf = fs.readFileSync(file);
    const pass = async () => {
      const out = [];
      for (const s of widths) out.push((await render(buf, s)).length);
      return out;
    };
    const bytes = await pass(); // warm-up
    if (process.env.ANIMATION_SAVE) {
      const name = require('path').basename(file);
      for (const z of widths) {
        const out = require('path').join(process.env.ANIMATION_SAVE, `sharp-${name}.${z}.webp`);
        fs.writeFileSync(out, await render(buf, z));
      }
    }
    // Frames sharp sees: 1 for an APNG (libvips reads PNG as a still).
    const frames = (await sharp(buf, { animated: true }).metadata()).pages || 1;
    const ms = [];
    const cpu_ms = [];
    for (let r = 0; r < Number(reps); r++) {
      const [t0, c0] = [process.hrtime.bigint(), process.cpuUsage()];
      await pass();
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu_ms.push((c.user + c.system) / 1e3);
    }
    process.stdout.write(JSON.stringify({ file, frames, ms, cpu_ms, bytes }) + '\n');
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
