// Validates e-invoices with Mustang's ZUGFeRDValidator (veraPDF for PDF/A-3, the EN 16931 and
// XRechnung Schematron rules), many files in one JVM: the jar has no entry point of its own.
// Run: java -cp validator-2.25.0-shaded.jar MustangValidate.java < list
// Each input line is a path, or "no-arithmetic<TAB>path" for a document whose arithmetic check
// must be off (2.25.0 throws on VAT category O otherwise). For each file it prints one line
// "<path><TAB><report XML on one line>", or "<path><TAB>ERROR <message>".
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.mustangproject.validator.ZUGFeRDValidator;

public class MustangValidate {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) continue;
            boolean noArithmetic = line.startsWith("no-arithmetic\t");
            String path = noArithmetic ? line.substring("no-arithmetic\t".length()) : line;
            ZUGFeRDValidator validator = new ZUGFeRDValidator();
            if (noArithmetic) validator.disableArithmeticCheck();
            String report;
            try {
                report = validator.validate(path).replace('\n', ' ').replace('\r', ' ');
            } catch (Exception e) {
                report = "ERROR " + e;
            }
            System.out.println(path + "\t" + report);
            System.out.flush();
        }
    }
}
