using System.Reflection;

namespace ControlPlane.Server;

/// <summary>/healthz, /readyz and /version. Readiness grows real checks (store, warm-up) with the registry.</summary>
internal static class OpsEndpoints
{
    private static readonly DateTimeOffset Started = DateTimeOffset.UtcNow;

    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", () => Results.Text("ok"));
        app.MapGet("/version", () =>
        {
            var asm = typeof(OpsEndpoints).Assembly;
            var info = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
            var plus = info.IndexOf('+', StringComparison.Ordinal);
            return Results.Json(new
            {
                name = "controlplane",
                version = plus < 0 ? info : info[..plus],
                git_sha = plus < 0 ? "unknown" : info[(plus + 1)..],
                build_time = File.GetLastWriteTimeUtc(asm.Location).ToString("O"),
                started_at = Started.ToString("O"),
            });
        });
    }
}
