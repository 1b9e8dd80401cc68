export function AdminConsole() {
  return <main class="page">Admin</main>;
}
