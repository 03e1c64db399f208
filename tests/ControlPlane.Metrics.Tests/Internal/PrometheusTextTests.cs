using ControlPlane.Metrics.Internal;

namespace ControlPlane.Metrics.Tests.Internal;

public sealed class PrometheusTextTests
{
    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(0.0, "0")]
    [InlineData(1.5, "1.5")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(0.005, "0.005")]
    [InlineData(0.1 + 0.2, "0.30000000000000004")]
    [InlineData(1e15, "1000000000000000")]
    [InlineData(123456789012345.0, "123456789012345")]
    [InlineData(9007199254740993.0, "9007199254740992")]
    [InlineData(1e20, "1E+20")]
    [InlineData(1e-7, "1E-07")]
    public void Numbers_AreWrittenAsGoParsesThem(double value, string expected)
    {
        Assert.Equal(expected, PrometheusText.FormatNumber(value));
    }

    [Fact]
    public void Numbers_IgnoreTheCurrentCulture()
    {
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal("0.25", PrometheusText.FormatNumber(0.25));
            Assert.Equal("1234567", PrometheusText.FormatNumber(1234567));
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void LabelValues_EscapeBackslashQuoteAndNewline_HelpEscapesBackslashAndNewline()
    {
        using var t = new TestCollector();
        var counter = t.Meter.CreateCounter<long>("escapes", null, "C:\\dir \"quoted\"\nsecond line");
        counter.Add(1, new KeyValuePair<string, object?>("path", "C:\\DIR\\FILE.TXT"), new KeyValuePair<string, object?>("error", "Cannot find:\n\"FILE.TXT\""));

        var scrape = t.Scrape();

        Assert.Contains("# HELP escapes_total C:\\\\dir \"quoted\"\\nsecond line\n", scrape);
        Assert.Contains("escapes_total{error=\"Cannot find:\\n\\\"FILE.TXT\\\"\",path=\"C:\\\\DIR\\\\FILE.TXT\"} 1\n", scrape);
    }

    [Fact]
    public void Labels_AreSorted_AndTagListsDifferingInOrderOrBoxingShareASeries()
    {
        using var t = new TestCollector();
        var counter = t.Meter.CreateCounter<int>("orders");
        counter.Add(1, new("zone", "b"), new("code", 200));
        counter.Add(2, new("code", 200), new("zone", "b"));
        counter.Add(4, new("code", 200L), new("zone", "b"));
        counter.Add(8, new("zone", "a"), new("code", 200), new("ok", true), new("ratio", 0.5));

        var lines = TestCollector.Lines(t.Scrape(), "orders_total");

        Assert.Equal(
            ["orders_total{code=\"200\",zone=\"b\"} 7", "orders_total{code=\"200\",ok=\"true\",ratio=\"0.5\",zone=\"a\"} 8"],
            lines);
    }

    [Fact]
    public void TagKeysThatSanitiseAlike_AreMergedIntoOneLabel()
    {
        using var t = new TestCollector();
        t.Meter.CreateCounter<int>("merged").Add(1, new("a.b", "1"), new("a-b", "2"));

        Assert.Equal(["merged_total{a_b=\"2;1\"} 1"], TestCollector.Lines(t.Scrape(), "merged_total"));
    }

    [Fact]
    public void EachFamily_HasOneTypeLine_BeforeItsSamples_AndFamiliesAreSorted()
    {
        using var t = new TestCollector();
        t.Meter.CreateCounter<int>("b.requests", null, "Requests.").Add(1, new KeyValuePair<string, object?>("x", "1"));
        t.Meter.CreateCounter<int>("b.requests", null, "Requests.").Add(1, new KeyValuePair<string, object?>("x", "2"));
        t.Meter.CreateUpDownCounter<int>("a.queue").Add(3);

        var scrape = t.Scrape();

        Assert.Equal(
            "# TYPE a_queue gauge\na_queue 3\n" +
            "# HELP b_requests_total Requests.\n# TYPE b_requests_total counter\nb_requests_total{x=\"1\"} 1\nb_requests_total{x=\"2\"} 1\n",
            scrape);
    }
}
