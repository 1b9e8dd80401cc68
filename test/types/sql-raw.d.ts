/** Vite's `?raw` import: a file's text (tests load a migration's SQL this way). */
declare module "*.sql?raw" {
  const text: string;
  export default text;
}
