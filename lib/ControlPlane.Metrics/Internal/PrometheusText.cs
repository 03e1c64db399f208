using System.Buffers;
using System.Globalization;
using System.Text;

namespace ControlPlane.Metrics.Internal;

/// <summary>
/// Writes lines of the Prometheus text exposition format, version 0.0.4
/// (prometheus/docs content/docs/instrumenting/exposition_formats.md): UTF-8, every line ends in
/// '\n', sample values are floats as Go's strconv.ParseFloat reads them.
/// </summary>
internal sealed class PrometheusText(IBufferWriter<byte> output)
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary><c># HELP name text</c>; only backslash and line feed are escaped in HELP (unlike label values).</summary>
    public void Help(string name, string help)
    {
        Write("# HELP ");
        Write(name);
        Write(" ");
        Write(help.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal));
        Write("\n");
    }

    /// <summary><c># TYPE name type</c>, once per family and before its first sample.</summary>
    public void Type(string name, MetricType type)
    {
        Write("# TYPE ");
        Write(name);
        Write(type switch
        {
            MetricType.Counter => " counter\n",
            MetricType.Gauge => " gauge\n",
            _ => " histogram\n",
        });
    }

    /// <summary><c>name{labels} value</c>; <paramref name="le"/> adds a histogram bucket's upper bound as the last label.</summary>
    public void Sample(string name, string suffix, string labels, double value, double? le = null)
    {
        Write(name);
        Write(suffix);
        if (labels.Length > 0 || le is not null)
        {
            Write("{");
            Write(labels);
            if (le is { } bound)
            {
                Write(labels.Length > 0 ? ",le=\"" : "le=\"");
                Number(bound);
                Write("\"");
            }
            Write("}");
        }
        Write(" ");
        Number(value);
        Write("\n");
    }

    /// <summary>
    /// A float as Go reads it: "NaN", "+Inf", "-Inf"; integral values as plain digits (a large
    /// counter reads 12345678901234, not 1.2345678901234E+13); anything else in the shortest
    /// round-trip form, invariant culture.
    /// </summary>
    public static string FormatNumber(double value)
    {
        Span<byte> buffer = stackalloc byte[32];
        return Encoding.ASCII.GetString(buffer[..FormatNumber(value, buffer)]);
    }

    private static int FormatNumber(double value, Span<byte> destination)
    {
        if (double.IsNaN(value))
        {
            return Copy("NaN"u8, destination);
        }
        if (double.IsInfinity(value))
        {
            return Copy(value > 0 ? "+Inf"u8 : "-Inf"u8, destination);
        }
        int written;
        // Below 1e17 every integral double converts to long exactly; above, the exponent form is the honest one.
        if (Math.Abs(value) < 1e17 && value == Math.Floor(value))
        {
            ((long)value).TryFormat(destination, out written, default, CultureInfo.InvariantCulture);
        }
        else
        {
            value.TryFormat(destination, out written, "R", CultureInfo.InvariantCulture);
        }
        return written;
    }

    private void Number(double value)
    {
        var span = output.GetSpan(32);
        output.Advance(FormatNumber(value, span));
    }

    private void Write(string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    private static int Copy(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        text.CopyTo(destination);
        return text.Length;
    }
}
