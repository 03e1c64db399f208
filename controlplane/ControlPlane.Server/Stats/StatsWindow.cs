using ControlPlane.Grpc;

namespace ControlPlane.Server.Stats;

/// <summary>One of the windows the REST query names (<c>?window=1m|5m|1h</c>).</summary>
internal sealed record StatsWindow(string Name, TimeSpan Length)
{
    public static readonly StatsWindow OneMinute = new("1m", TimeSpan.FromMinutes(1));
    public static readonly StatsWindow FiveMinutes = new("5m", TimeSpan.FromMinutes(5));
    public static readonly StatsWindow OneHour = new("1h", TimeSpan.FromHours(1));

    /// <summary>Mean requests per second over the window: <c>req_count / window seconds</c>.</summary>
    public double RatePerSecond(long count) => count / Length.TotalSeconds;

    /// <summary>The window named <paramref name="text"/>; empty means <paramref name="fallback"/>; anything else is INVALID_ARGUMENT on <paramref name="field"/>.</summary>
    public static StatsWindow Parse(string text, StatsWindow fallback, string field = "window") => text switch
    {
        "" => fallback,
        "1m" => OneMinute,
        "5m" => FiveMinutes,
        "1h" => OneHour,
        _ => throw RpcErrors.InvalidArgument(LoadReportValidator.Reason,
            [new(field, $"'{(text.Length > 16 ? text[..16] + "..." : text)}' is not a window: use 1m, 5m or 1h")]),
    };
}
