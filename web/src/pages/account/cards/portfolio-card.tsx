import { api } from "../../../api/client";
import { DataTable } from "../../../components/data-table";
import { useLoad } from "../../../lib/use-load";

export function PortfolioCard() {
  const [summary] = useLoad(() => api.GET("/api/v1/portfolio", { params: { query: { quote: "USDT" } } }));
  const [positions] = useLoad(() =>
    api.GET("/api/v1/portfolio/positions", { params: { query: { quote: "USDT" } } }),
  );
  return (
    <section class="panel" aria-labelledby="portfolio-h">
      <h2 id="portfolio-h">Portfolio</h2>
      <p>
        Total value: <strong>{summary ? `${summary.total_value} ${summary.quote_asset}` : "…"}</strong>
      </p>
      <DataTable
        label="Holdings"
        rows={summary?.balances ?? []}
        rowKey={(b) => b.asset}
        empty="No funds yet"
        columns={[
          { header: "Asset", cell: (b) => b.asset },
          { header: "Total", cell: (b) => b.total },
          { header: "Value", cell: (b) => b.value ?? "–" },
        ]}
      />
      <DataTable
        label="Positions"
        rows={positions?.positions ?? []}
        rowKey={(p) => p.asset}
        empty="No positions yet"
        columns={[
          { header: "Asset", cell: (p) => p.asset },
          { header: "Quantity", cell: (p) => p.quantity },
          { header: "Average cost", cell: (p) => p.average_cost },
          { header: "Realized P&L", cell: (p) => p.realized_pnl },
          { header: "Unrealized P&L", cell: (p) => p.unrealized_pnl ?? "–" },
        ]}
      />
    </section>
  );
}
