export function AccountPage() {
  return <main class="page">Account</main>;
}
