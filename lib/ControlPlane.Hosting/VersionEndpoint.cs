using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ControlPlane.Hosting;

public static class VersionEndpoint
{
    /// <summary>
    /// <c>GET /version</c>: <c>{name, version, git_sha, build_time, started_at}</c>, from the informational
    /// version of <paramref name="assembly"/> ("1.2.3+sha", as the SDK stamps it from git).
    /// </summary>
    public static IEndpointConventionBuilder MapVersion(this IEndpointRouteBuilder endpoints, string name, Assembly assembly, DateTimeOffset startedAt)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(assembly);
        var info = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = info.IndexOf('+', StringComparison.Ordinal);
        var body = new
        {
            name,
            version = plus < 0 ? info : info[..plus],
            git_sha = plus < 0 ? "unknown" : info[(plus + 1)..],
            build_time = File.GetLastWriteTimeUtc(assembly.Location).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            started_at = startedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        return endpoints.MapGet("/version", () => Results.Json(body));
    }
}
