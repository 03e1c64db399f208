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

    /// <summary>
    /// Applies <paramref name="args"/> to <paramref name="settings"/> in order: a flag (an option
    /// without a value, e.g. --no-write) through <paramref name="flag"/>, which answers null for a
    /// name that is not one; every other option with the value after it through <paramref name="option"/>.
    /// </summary>
    public static T Apply<T>(ReadOnlySpan<string> args, T settings, Func<T, string, T?> flag, Func<T, string, string, T> option)
        where T : class
    {
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (flag(settings, name) is { } flagged)
            {
                settings = flagged;
                continue;
            }
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"Option '{name}' needs a value.");
            }
            settings = option(settings, name, args[++i]);
        }
        return settings;
    }

    /// <summary>A comma-separated subset of <paramref name="known"/> (for --only).</summary>
    public static HashSet<string> Subset(string name, string value, IReadOnlyCollection<string> known)
    {
        var chosen = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return chosen.Count > 0 && chosen.IsSubsetOf(known)
            ? chosen
            : throw new ArgumentException($"{name} takes some of {string.Join(", ", known)}, not '{value}'.");
    }
}
