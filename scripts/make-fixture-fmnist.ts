/**
 * Writes the small committed Fashion-MNIST fixtures (fixtures/fmnist/) from the full dataset:
 * the first 512 training and the first 64 test images with their labels, as gzipped IDX files,
 * so tests and demos run where the dataset is not installed.
 *
 *   deno run -A scripts/make-fixture-fmnist.ts [source-dir] [out-dir]
 *
 * source-dir defaults to /usr/share/datasets/fashion-mnist (Debian: dataset-fashion-mnist).
 *
 * @module
 */
import {
  encodeIdx,
  FASHION_MNIST_DIR,
  gzip,
  type IdxImages,
  type IdxLabels,
  readFashionMnist,
} from "../src/data/idx.ts";

/** How many images of each split the fixtures keep. */
const KEEP = { train: 512, t10k: 64 } as const;

/**
 * The first `n` images and labels of a split, as gzipped IDX files.
 *
 * @param images the full split's images
 * @param labels the full split's labels
 * @param n how many to keep
 * @returns gzip bytes of the image file and of the label file
 */
async function head(
  images: IdxImages,
  labels: IdxLabels,
  n: number,
): Promise<{ images: Uint8Array; labels: Uint8Array }> {
  const { rows, cols } = images;
  return {
    images: await gzip(encodeIdx([n, rows, cols], images.data.subarray(0, n * rows * cols))),
    labels: await gzip(encodeIdx([n], labels.data.subarray(0, n))),
  };
}

/** Written pre-formatted so `deno fmt --check` passes on the generated file. */
const README = `# Fashion-MNIST fixtures

Small slices of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist) (Xiao, Rasul &
Vollgraf, 2017) in the original gzipped IDX format, so tests and demos run without the full dataset:

| file                         | contents                                   |
| ---------------------------- | ------------------------------------------ |
| \`train-images-idx3-ubyte.gz\` | the first ${KEEP.train} training images, 28×28 uint8 |
| \`train-labels-idx1-ubyte.gz\` | their labels (0–9)                         |
| \`t10k-images-idx3-ubyte.gz\`  | the first ${KEEP.t10k} test images, 28×28 uint8      |
| \`t10k-labels-idx1-ubyte.gz\`  | their labels (0–9)                         |

Licence: Fashion-MNIST is released under the MIT licence, Copyright (c) 2017 Zalando SE.

Regenerate (Debian: \`apt-get install dataset-fashion-mnist\` provides
\`${FASHION_MNIST_DIR}/\`):

\`\`\`sh
deno run -A scripts/make-fixture-fmnist.ts
\`\`\`

Read them with \`readIdxImages\` / \`readIdxLabels\` from \`src/data/idx.ts\`.
`;

if (import.meta.main) {
  const src = Deno.args[0] ?? FASHION_MNIST_DIR;
  const out = Deno.args[1] ?? "fixtures/fmnist";
  await Deno.mkdir(out, { recursive: true });
  for (const split of ["train", "t10k"] as const) {
    const { images, labels } = await readFashionMnist(split, src);
    const files = await head(images, labels, KEEP[split]);
    await Deno.writeFile(`${out}/${split}-images-idx3-ubyte.gz`, files.images);
    await Deno.writeFile(`${out}/${split}-labels-idx1-ubyte.gz`, files.labels);
    console.log(
      `${split}: ${KEEP[split]} of ${images.count} images -> ` +
        `${files.images.length + files.labels.length} bytes`,
    );
  }
  await Deno.writeTextFile(`${out}/README.md`, README);
}
