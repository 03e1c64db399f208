using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ControlPlane.Agents.Runtime;

/// <summary>Rows of flat JSON objects as an aligned text table, CSV (RFC 4180) or a Markdown table.</summary>
internal static class TextTable
{
    public const string Table = "table";
    public const string Csv = "csv";
    public const string Markdown = "markdown";

    public static string Render(IReadOnlyList<string> columns, IEnumerable<JsonObject> rows, string format = Table)
    {
        var cells = rows.Select(r => columns.Select(c => Cell(r[c])).ToArray()).ToList();
        return format switch
        {
            Csv => RenderCsv(columns, cells),
            Markdown => RenderMarkdown(columns, cells),
            _ => RenderAligned(columns, cells),
        };
    }

    /// <summary>Every member of every row, in first-seen order, as columns.</summary>
    public static string Render(IEnumerable<JsonObject> rows, string format = Table)
    {
        var list = rows.ToList();
        var columns = list.SelectMany(r => r.Select(p => p.Key)).Distinct(StringComparer.Ordinal).ToList();
        return Render(columns, list, format);
    }

    public static string Cell(JsonNode? node) => node switch
    {
        null => "",
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        JsonValue value when value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<double>(out var d) && d != Math.Floor(d) =>
            d.ToString("0.###", CultureInfo.InvariantCulture),
        _ => node.ToJsonString(),
    };

    private static string RenderAligned(IReadOnlyList<string> columns, List<string[]> cells)
    {
        var widths = columns.Select((c, i) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        Line(text, columns.Select(c => c.ToUpperInvariant()).ToArray(), widths);
        foreach (var row in cells)
        {
            Line(text, row, widths);
        }
        if (cells.Count == 0)
        {
            text.AppendLine("(no rows)");
        }
        return text.ToString();
    }

    private static void Line(StringBuilder text, IReadOnlyList<string> row, int[] widths)
    {
        for (var i = 0; i < row.Count; i++)
        {
            text.Append(i == row.Count - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
        }
        text.AppendLine();
    }

    private static string RenderCsv(IReadOnlyList<string> columns, List<string[]> cells)
    {
        var text = new StringBuilder();
        text.Append(string.Join(',', columns.Select(Quote))).Append("\r\n");
        foreach (var row in cells)
        {
            text.Append(string.Join(',', row.Select(Quote))).Append("\r\n");
        }
        return text.ToString();

        static string Quote(string value) => value.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static string RenderMarkdown(IReadOnlyList<string> columns, List<string[]> cells)
    {
        var text = new StringBuilder();
        text.Append("| ").Append(string.Join(" | ", columns.Select(Escape))).AppendLine(" |");
        text.Append('|').Append(string.Join('|', columns.Select(_ => "---"))).AppendLine("|");
        foreach (var row in cells)
        {
            text.Append("| ").Append(string.Join(" | ", row.Select(Escape))).AppendLine(" |");
        }
        return text.ToString();

        static string Escape(string value) => value.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
    }
}
