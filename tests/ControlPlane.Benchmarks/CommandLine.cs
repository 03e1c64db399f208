using System.Globalization;

namespace ControlPlane.Benchmarks;

/// <summary>Option values shared by the benchmarks' command lines.</summary>
internal static class CommandLine
{
    /// <summary><paramref name="value"/> as a number from <paramref name="min"/> to <paramref name="max"/>, or an <see cref="ArgumentException"/> naming the option.</summary>
    public static double Number(string name, string value, double min, double max) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"Option '{name}' takes a number from {min} to {max}, not '{value}'.");

    /// <summary>A comma-separated subset of <paramref name="known"/> (for --only).</summary>
    public static HashSet<string> Subset(string name, string value, IReadOnlyCollection<string> known)
    {
        var chosen = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return chosen.Count > 0 && chosen.IsSubsetOf(known)
            ? chosen
            : throw new ArgumentException($"{name} takes some of {string.Join(", ", known)}, not '{value}'.");
    }
}
